/**
 * The gateway under benchmark, in its own process, with the fake Google beside it (sign-in only;
 * the measured paths never reach it). Prints {"issuer","google","pid","refreshTokens"} when
 * listening; with BENCH_REFRESH_CHAINS=n it also signs a user in and mints n refresh tokens for
 * the refresh scenario, the same way the bare oidc-provider does.
 */
import { decodeJwt } from 'jose';
import { openStore } from '../../adapters/open-store.ts';
import { clientResource } from '../../gateway/provider/resource-servers.ts';
import { confidentialClient } from '../../tests/helpers/relying-party.ts';
import { freePort, startGateway } from '../../tests/helpers/start-gateway.ts';
import { signInForBench } from '../scenarios/sign-in.ts';
import { mintRefreshTokens } from './mint-refresh-tokens.ts';

const port = await freePort();
const env: Record<string, string> = {
  GATEWAY_LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
  GATEWAY_ACCESS_TOKEN_TTL: '3600',
  // the user was checked at sign-in; the refresh benchmark measures the gateway, not Google
  GATEWAY_UPSTREAM_RECHECK_INTERVAL: '86400',
  // One load generator is one client address: per-address rate limits would measure the limiter.
  GATEWAY_RATE_LIMIT: '0',
  GATEWAY_TOKEN_RATE_LIMIT: '0',
};
const store = process.env['BENCH_STORE'] ? await openStore(process.env['BENCH_STORE'], { prefix: process.env['BENCH_PREFIX'] ?? 'bench:' }) : undefined;
// An API client whose access tokens are for the gateway's own origin, for the Bearer scenario.
const client = confidentialClient('bench-app', { resources: [`http://127.0.0.1:${port}`] });
const gateway = await startGateway({ env, clients: [client], port, ...(store ? { store } : {}) });
let refreshTokens: string[] = [];
const chains = Number(process.env['BENCH_REFRESH_CHAINS'] ?? 0);
if (chains > 0) {
  const { accessToken } = await signInForBench(gateway.issuer, gateway.google.issuer);
  refreshTokens = await mintRefreshTokens(gateway.app.gateway.provider, {
    clientId: 'bench-app',
    accountId: String(decodeJwt(accessToken).sub),
    resource: clientResource('bench-app'),
    count: chains,
  });
}
process.stdout.write(`${JSON.stringify({ issuer: gateway.issuer, google: gateway.google.issuer, pid: process.pid, clientSecret: client.client_secret, refreshTokens })}\n`);
process.on('SIGTERM', () => void gateway.close().then(() => store?.close()).then(() => process.exit(0)));
