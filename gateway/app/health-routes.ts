/**
 * Operations endpoints: `/healthz` (the process answers), `/readyz` (the store answers; a load
 * balancer takes the instance out while it does not). `/readyz` turns 503 within a second of the
 * store going away (store pings fail at once on a closed connection, within 500 ms on a stalled
 * one) and back to 200 by itself once the store client has reconnected.
 */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../adapters/store.ts';
import { StoreUnavailableError } from '../../adapters/store-errors.ts';
import { sendProblem } from '../web/errors.ts';

export function healthRoutes(store: Store) {
  return async function routes(app: FastifyInstance) {
    app.get('/healthz', (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
    app.get('/readyz', async (request, reply) => {
      try {
        await store.ping();
        return reply.header('cache-control', 'no-store').send({ status: 'ready', store: store.kind });
      } catch (error) {
        // The detail names the backend's failure (host, timeout), never a URL's password.
        const detail = error instanceof StoreUnavailableError ? error.error_detail : (error as Error).message;
        request.log.warn({ store: store.kind, detail }, 'store unreachable');
        return sendProblem(reply, 503, 'store_unavailable', 'The store does not answer.');
      }
    });
  };
}
