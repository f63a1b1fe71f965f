/**
 * Operations endpoints: `/healthz` (the process answers), `/readyz` (the store answers; a load
 * balancer takes the instance out while it does not).
 */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../adapters/store.ts';
import { sendProblem } from './errors.ts';

export function healthRoutes(store: Store) {
  return async function routes(app: FastifyInstance) {
    app.get('/healthz', (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
    app.get('/readyz', async (request, reply) => {
      try {
        await store.ping();
        return reply.header('cache-control', 'no-store').send({ status: 'ready', store: store.kind });
      } catch (error) {
        request.log.warn({ err: (error as Error).message }, 'store unreachable');
        return sendProblem(reply, 503, 'store_unavailable', 'The store does not answer.');
      }
    });
  };
}
