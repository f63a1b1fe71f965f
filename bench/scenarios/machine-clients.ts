/**
 * Scenario 8: what machines and devices ask of the token endpoint, on the gateway as shipped
 * (Redis, default limits) against bare oidc-provider (memory adapter, the same token settings):
 *
 * - 8a. client credentials: a machine's token for its API (RFC 6749 §4.4), one request each;
 * - 8b. a device-flow round (RFC 8628): a device authorization, then the device's first poll,
 *   answered `authorization_pending` (400, expected). Devices come from many addresses, as
 *   through a proxy (X-Forwarded-For from the trusted loopback), so the per-address sign-in
 *   budget, which a device authorization spends, is each device's own.
 */
import { interleave, roundLoad, spawnServer, type Comparison, type LoadResult } from '../bench-kit.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';

const API = 'https://api.bench.test';
const SECRET = 'bench-app-secret-0123456789abcdef0123456789';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const WORKERS = 32;

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** 8a's load: client credentials tokens, one after another on each of WORKERS connections. */
export function credentialsLoad(origin: string, duration: number): Promise<LoadResult> {
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`bench-machine:${SECRET}`).toString('base64')}`,
  };
  const body = form({ grant_type: 'client_credentials', resource: API, scope: 'reports:read' });
  return roundLoad({
    origin,
    workers: WORKERS,
    duration,
    async round(pool) {
      const answer = await pool.request({ method: 'POST', path: '/token', headers, body });
      const json = (await answer.body.json()) as Record<string, unknown>;
      return answer.statusCode === 200 && typeof json['access_token'] === 'string'
        ? true
        : `HTTP ${answer.statusCode} ${String(json['error'] ?? '')}`;
    },
  });
}

/** 8b's load: device authorization + first poll, each round from an address of its own. */
export function deviceLoad(origin: string, duration: number): Promise<LoadResult> {
  return roundLoad({
    origin,
    workers: WORKERS,
    duration,
    async round(pool, _worker, n) {
      const from = { 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` };
      const headers = { 'content-type': 'application/x-www-form-urlencoded', ...from };
      const started = await pool.request({
        method: 'POST',
        path: '/device/auth',
        headers,
        body: form({ client_id: 'bench-device', scope: 'openid' }),
      });
      const device = (await started.body.json()) as Record<string, unknown>;
      if (started.statusCode !== 200)
        return `device authorization HTTP ${started.statusCode} ${String(device['error'])}`;
      const polled = await pool.request({
        method: 'POST',
        path: '/token',
        headers,
        body: form({ grant_type: DEVICE_GRANT, device_code: String(device['device_code']), client_id: 'bench-device' }),
      });
      const poll = (await polled.body.json()) as Record<string, unknown>;
      return polled.statusCode === 400 && poll['error'] === 'authorization_pending'
        ? true
        : `poll HTTP ${polled.statusCode} ${String(poll['error'] ?? '')}`;
    },
  });
}

export async function machineClientsScenario(options: { duration: number; rounds: number }): Promise<Comparison[]> {
  const gateway = await startBenchGateway({
    env: { GATEWAY_API_SCOPES: 'reports:read' },
    clients: [
      {
        client_id: 'bench-machine',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        resources: [API],
        scope: 'reports:read',
      },
      {
        client_id: 'bench-device',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
  });
  const bare = await spawnServer<{ issuer: string }>('bench/servers/bare-provider-server.ts', {
    BENCH_REFRESH_CHAINS: '1',
  });
  try {
    // One second of each first, not measured: both processes' code is compiled before A meets B.
    await credentialsLoad(gateway.issuer, 1);
    await credentialsLoad(bare.info.issuer, 1);
    const credentials = await interleave(
      options.rounds,
      () => credentialsLoad(gateway.issuer, options.duration),
      () => credentialsLoad(bare.info.issuer, options.duration),
    );
    const devices = await interleave(
      options.rounds,
      () => deviceLoad(gateway.issuer, options.duration),
      () => deviceLoad(bare.info.issuer, options.duration),
    );
    const goal = 'rps ≥ 0.8 × bare';
    const met = (a: { rps: number }, b: { rps: number }) => a.rps >= 0.8 * b.rps;
    return [
      {
        scenario: '8a. client credentials token (machine client, JWT for its API)',
        a: { label: 'gateway on Redis', runs: credentials.aRuns },
        b: { label: 'bare oidc-provider, memory adapter', runs: credentials.bRuns },
        goal,
        met,
      },
      {
        scenario: '8b. device flow round (device authorization + first poll, authorization_pending)',
        a: { label: 'gateway on Redis', runs: devices.aRuns },
        b: { label: 'bare oidc-provider, memory adapter', runs: devices.bRuns },
        goal,
        met,
      },
    ];
  } finally {
    await gateway.stop();
    await bare.stop();
  }
}
