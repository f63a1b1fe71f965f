/**
 * The limit for the refresh and single-sign-on benchmarks: a bare oidc-provider with the
 * gateway's token settings (the same kinds of ES256/RS256 keys, RFC 9068 JWT access tokens for a
 * resource, rotating refresh tokens, the gateway's default lifetimes), served by plain node:http.
 * Its store is oidc-provider's own memory adapter, or with BENCH_REDIS_URL the Redis adapter of
 * oidc-provider's example folder (example-redis-adapter.ts). Its interaction signs `bench-user`
 * in and grants the scopes at once (a first-party app: no login page, no consent), so a
 * client can sign in once and then sign in again by single sign-on.
 * Prints {"port","issuer","clientSecret","refreshTokens"}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import { resourceIndicatorsFeature, clientResource } from '../../gateway/provider/resource-servers.ts';
import { connectExampleRedisAdapter } from './example-redis-adapter.ts';
import { mintRefreshTokens } from './mint-refresh-tokens.ts';

// The gateway's defaults (docs/SETTINGS.md): access tokens 300 s, refresh tokens and sessions 14 days.
const ACCESS_TOKEN_TTL = 300;
const REFRESH_TOKEN_TTL = 1_209_600;

const keys = [];
for (const alg of ['ES256', 'RS256'] as const) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  keys.push({ ...(await exportJWK(privateKey)), alg, use: 'sig', kid: alg });
}
const redisUrl = process.env['BENCH_REDIS_URL'];
const redis = redisUrl ? await connectExampleRedisAdapter(redisUrl) : undefined;
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
const issuer = `http://127.0.0.1:${port}`;
const clientSecret = 'bench-app-secret-0123456789abcdef0123456789';
/** The API machine clients get tokens for (scenario 8). */
const BENCH_API = 'https://api.bench.test';
const provider = new Provider(issuer, {
  ...(redis ? { adapter: redis.Adapter } : {}),
  clients: [
    {
      client_id: 'bench-app',
      client_secret: clientSecret,
      redirect_uris: ['http://127.0.0.1:9/bench-app/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
    },
    // Scenario 8: a machine (client credentials) and a device (device grant), as the gateway's.
    {
      client_id: 'bench-machine',
      client_secret: clientSecret,
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
      scope: 'reports:read',
      resources: [BENCH_API],
    } as never,
    {
      client_id: 'bench-device',
      token_endpoint_auth_method: 'none',
      redirect_uris: [],
      response_types: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    },
  ],
  jwks: { keys: keys as never },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef0123456789'] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: 'bench@example.com' }) }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'reports:read'],
  extraClientMetadata: { properties: ['resources'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true, charset: 'base-20', mask: '****-****' },
    resourceIndicators: resourceIndicatorsFeature({ accessTokenTtl: ACCESS_TOKEN_TTL }) as never,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    RefreshToken: REFRESH_TOKEN_TTL,
    Grant: REFRESH_TOKEN_TTL,
    Session: REFRESH_TOKEN_TTL,
    IdToken: ACCESS_TOKEN_TTL,
  },
});
const callback = provider.callback();
server.on('request', (req, res) => {
  if (!req.url?.startsWith('/interaction/')) return callback(req, res);
  // The whole sign-in at once: bench-user, every scope asked for, for the client's own resource.
  void (async () => {
    const details = await provider.interactionDetails(req, res);
    const clientId = String(details.params['client_id']);
    const scope = String(details.params['scope']);
    const grant = new provider.Grant({ accountId: 'bench-user', clientId });
    grant.addOIDCScope(scope);
    grant.addResourceScope(clientResource(clientId), scope);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId: 'bench-user' }, consent: { grantId } });
  })().catch((error: unknown) => {
    res.statusCode = 500;
    res.end(String(error));
  });
});
const refreshTokens = await mintRefreshTokens(provider, {
  clientId: 'bench-app',
  accountId: 'bench-user',
  resource: clientResource('bench-app'),
  count: Number(process.env['BENCH_REFRESH_CHAINS'] ?? 64),
});
process.stdout.write(`${JSON.stringify({ port, issuer, clientSecret, refreshTokens })}\n`);
process.on('SIGTERM', () =>
  server.close(() => {
    void Promise.resolve(redis?.close()).finally(() => process.exit(0));
  }),
);
