/**
 * The limit for forward auth: a bare Fastify route answering 202 with the same headers the
 * gateway's /oauth2/auth sends. Run as its own process; prints {"port"} when listening.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const headers = {
  'cache-control': 'no-store',
  'x-auth-request-user': '6f1c1b7e-3f0e-4d7a-9a53-2b8d4c8e7a10',
  'x-auth-request-email': 'bench@example.com',
  'x-auth-request-preferred-username': 'bench',
  'x-auth-request-access-token': 'x'.repeat(700),
};
app.get('/oauth2/auth', (_request, reply) => reply.code(202).headers(headers).send());
await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 0) });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
