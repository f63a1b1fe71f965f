/**
 * The limit for the refresh benchmark: a bare oidc-provider with its own memory adapter and the
 * gateway's token settings (the same ES256/RS256 keys, RFC 9068 JWT access tokens for a resource,
 * rotating refresh tokens), served by plain node:http. Prints {"port","refreshTokens"}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import { resourceIndicatorsFeature, clientResource } from '../../gateway/provider/resource-servers.ts';
import { mintRefreshTokens } from './mint-refresh-tokens.ts';

const keys = [];
for (const alg of ['ES256', 'RS256'] as const) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  keys.push({ ...(await exportJWK(privateKey)), alg, use: 'sig', kid: alg });
}
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
const issuer = `http://127.0.0.1:${port}`;
const clientSecret = 'bench-app-secret-0123456789abcdef0123456789';
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-app',
      client_secret: clientSecret,
      redirect_uris: ['http://127.0.0.1:9/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
    },
  ],
  jwks: { keys: keys as never },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: 'bench@example.com' }) }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: resourceIndicatorsFeature({ accessTokenTtl: 3600 }) as never,
  },
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  ttl: { AccessToken: 3600, RefreshToken: 86400, Grant: 86400, IdToken: 3600 },
});
server.on('request', provider.callback());
const refreshTokens = await mintRefreshTokens(provider, {
  clientId: 'bench-app',
  accountId: 'bench-user',
  resource: clientResource('bench-app'),
  count: Number(process.env['BENCH_REFRESH_CHAINS'] ?? 64),
});
process.stdout.write(`${JSON.stringify({ port, issuer, clientSecret, refreshTokens })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
