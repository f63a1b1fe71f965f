/**
 * The gateway under benchmark, in its own process, with the fake Google beside it (sign-in only;
 * the measured paths never reach it). Prints {"issuer","google"} when listening.
 */
import { confidentialClient } from '../../tests/helpers/relying-party.ts';
import { freePort, startGateway } from '../../tests/helpers/start-gateway.ts';

const port = await freePort();
const env: Record<string, string> = {
  GATEWAY_LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
  GATEWAY_ACCESS_TOKEN_TTL: '3600',
};
if (process.env['BENCH_STORE']) env['GATEWAY_STORE'] = process.env['BENCH_STORE'];
// An API client whose access tokens are for the gateway's own origin, for the Bearer scenario.
const client = confidentialClient('bench-app', { resources: [`http://127.0.0.1:${port}`] });
const gateway = await startGateway({ env, clients: [client], port });
process.stdout.write(`${JSON.stringify({ issuer: gateway.issuer, google: gateway.google.issuer })}\n`);
process.on('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
