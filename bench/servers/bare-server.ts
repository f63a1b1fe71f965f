/**
 * The limit for forward auth: a bare Fastify route answering 202 with the same headers the
 * gateway's /oauth2/auth sends. Run as its own process; prints {"port"} when listening.
 *
 * BENCH_HEADERS (JSON `{"cookie": {…}, "bearer": {…}}`) are the headers the gateway answered a
 * signed-in check with, cookie and Bearer (forward-auth.ts reads them off the gateway first), so
 * both sides write the same bytes; the bearer set answers requests with an Authorization header.
 */
import Fastify from 'fastify';

type Headers = Record<string, string>;
const fallback: Headers = {
  'cache-control': 'no-store',
  'x-auth-request-user': '6f1c1b7e-3f0e-4d7a-9a53-2b8d4c8e7a10',
  'x-auth-request-email': 'bench@example.com',
  'x-auth-request-preferred-username': 'bench',
  'x-auth-request-access-token': 'x'.repeat(700),
};
const given = JSON.parse(process.env['BENCH_HEADERS'] ?? '{}') as { cookie?: Headers; bearer?: Headers };
const cookieHeaders = given.cookie ?? fallback;
const bearerHeaders = given.bearer ?? cookieHeaders;

const app = Fastify({ logger: false });
app.get('/oauth2/auth', (request, reply) =>
  reply
    .code(202)
    .headers(request.headers.authorization === undefined ? cookieHeaders : bearerHeaders)
    .send(),
);
await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 0) });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
