/**
 * The access log (`GATEWAY_ACCESS_LOG=on`): one compact JSON line per request, written when the
 * answer is sent. Off by default: nginx keeps its own access log, and the check nginx makes on
 * every request should cost its work and nothing else (two synchronous log lines per request made
 * `/oauth2/auth` about three times slower). When on, lines are buffered and written
 * asynchronously (sonic-boom, pino's own writer), each write at most 4 KiB so that it stays
 * atomic on a pipe shared with the main log.
 *
 * A line carries the route (its pattern: no ids, and no query, where codes, states and tokens
 * travel), the status, the time taken and the client address as the trusted proxies report it
 * (`request.ip`).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
// A CommonJS module: its default import is `module.exports`, which carries the class as `SonicBoom`.
import sonicBoom from 'sonic-boom';

export interface AccessLogOptions {
  /** Where lines go (tests pass a collector); default stdout. */
  write?: (line: string) => void;
}

export const accessLog = fp(
  async function accessLog(app: FastifyInstance, options: AccessLogOptions) {
    let write = options.write;
    if (!write) {
      const out = new sonicBoom.SonicBoom({ fd: 1, sync: false, minLength: 0, maxWrite: 4096 });
      app.addHook('onClose', async () => out.flushSync());
      write = (line) => out.write(line);
    }
    const emit = write;
    app.addHook('onResponse', (request, reply, done) => {
      // The route's pattern (`/interaction/:uid`), not the path: ids in paths are credentials'
      // neighbours, and the store itself keeps them only as keyed hashes.
      const url = request.raw.url ?? '/';
      const query = url.indexOf('?');
      const { url: route, config } = request.routeOptions;
      const label = config?.routeLabel;
      const path = route === undefined ? (query === -1 ? url : url.slice(0, query)) : label ? label(url) : route;
      emit(
        `{"time":${Date.now()},"msg":"access","method":${JSON.stringify(request.method)},"path":${JSON.stringify(path.slice(0, 512))},"status":${reply.statusCode},"ms":${reply.elapsedTime.toFixed(1)},"ip":${JSON.stringify(request.ip)}}\n`,
      );
      done();
    });
  },
  { name: 'gateway-access-log' },
);
