/**
 * The access log (`GATEWAY_ACCESS_LOG=on`): one compact JSON line per request, written when the
 * answer is sent. Off by default: nginx keeps its own access log, and the check nginx makes on
 * every request should cost its work and nothing else (two synchronous log lines per request made
 * `/oauth2/auth` about three times slower). When on, lines go to the main log's asynchronous
 * writer (web/log-stream.ts).
 *
 * A line carries the route (its pattern: no ids, and no query, where codes, states and tokens
 * travel), the status, the time taken and the client address as the trusted proxies report it
 * (`request.ip`).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { stdoutStream } from '../web/log-stream.ts';

export interface AccessLogOptions {
  /** Where lines go (tests pass a collector); default stdout. */
  write?: (line: string) => void;
}

export const accessLog = fp(
  async function accessLog(app: FastifyInstance, options: AccessLogOptions) {
    let write = options.write;
    if (!write) {
      // The main log's own writer: lines of the two never interleave mid-line.
      const out = stdoutStream();
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
