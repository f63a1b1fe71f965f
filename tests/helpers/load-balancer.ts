/**
 * A tiny HTTP load balancer for tests, in front of several gateway instances that share one
 * issuer URL (as in production behind nginx or a cloud balancer). It picks the instance PER
 * REQUEST, never per connection (clients keep connections alive, which would pin them to one
 * instance), and a test can steer it: round-robin, or every request to one instance. It counts
 * what each instance served, so a test can show that an instance really did the work.
 *
 * The request goes through unchanged (method, path, headers including Host and cookies, body), so
 * the instances see what they would see behind a balancer that preserves Host.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoadBalancer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Sends every request to instance `index`, or alternates between all of them. */
  use(target: number | 'round-robin'): void;
  /** Requests served by each instance so far. */
  readonly served: number[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (`port`, or a free one) and forwards to the `targets` (origins). */
export async function startLoadBalancer(targets: string[], port = 0): Promise<LoadBalancer> {
  const served = targets.map(() => 0);
  let mode: number | 'round-robin' = 'round-robin';
  let next = 0;
  const agent = new Agent({ keepAlive: true });

  function pick(): number {
    if (mode !== 'round-robin') return mode;
    const index = next;
    next = (next + 1) % targets.length;
    return index;
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const index = pick();
    served[index] = (served[index] ?? 0) + 1;
    const target = new URL(targets[index] ?? '');
    const upstream = httpRequest(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    use(target) {
      if (target !== 'round-robin' && (target < 0 || target >= targets.length))
        throw new RangeError(`no instance ${target}`);
      mode = target;
    },
    served,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}
