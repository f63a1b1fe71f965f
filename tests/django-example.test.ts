/**
 * examples/django: Django's own test suite, run with Debian's python3, against a running gateway
 * with the fake Google in front of it. The gateway registers the Django app's client; the suite
 * signs people in (Authlib, code + PKCE), calls the Bearer API and the forward-auth mode, and a
 * service calls the API with its own token (Authlib's client credentials grant).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDjangoPackages, runPython } from '../examples/full-stack/python.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const DJANGO_DIR = 'examples/django';
const CLIENT_ID = 'django-example';
/** Django's test client talks to http://testserver. */
const TEST_SERVER = 'http://testserver';
/** Short, so the suite sees tokens expire (the refresh, the 401, the end of a session). */
const ACCESS_TOKEN_TTL = 3;
const MACHINE_ID = 'report-worker';
/** The API's resource indicator (RFC 8707): what the machine asks its tokens for. */
const MACHINE_RESOURCE = 'https://api.django.test';

describe('examples/django against a running gateway', () => {
  let gw: StartedGateway;
  let dir: string;
  const secret = randomBytes(32).toString('base64url');
  const machineSecret = randomBytes(32).toString('base64url');

  before(async () => {
    requireDjangoPackages();
    dir = mkdtempSync(join(tmpdir(), 'django-example-'));
    gw = await startGateway({
      env: { GATEWAY_ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL), GATEWAY_API_SCOPES: 'reports:read,reports:write' },
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: secret,
          client_name: 'Django example',
          redirect_uris: [`${TEST_SERVER}/oidc/callback`],
          post_logout_redirect_uris: [`${TEST_SERVER}/`],
          grant_types: ['authorization_code', 'refresh_token'],
          first_party: true,
        },
        // A service of the same team calling the Django API as itself (client credentials).
        {
          client_id: MACHINE_ID,
          client_secret: machineSecret,
          client_name: 'Report worker',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          resources: [MACHINE_RESOURCE],
          scope: 'reports:read reports:write',
        },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("passes Django's test suite (manage.py test)", async (t) => {
    const { code, output } = await runPython(['manage.py', 'test', '--noinput', '-v', '2'], {
      cwd: DJANGO_DIR,
      env: {
        OIDC_ISSUER: gw.issuer,
        OIDC_CLIENT_ID: CLIENT_ID,
        OIDC_CLIENT_SECRET: secret,
        FAKE_GOOGLE_ISSUER: gw.google.issuer,
        DJANGO_DB_PATH: join(dir, 'db.sqlite3'),
        OIDC_API_AUDIENCES: `${CLIENT_ID},${MACHINE_RESOURCE}`,
        MACHINE_CLIENT_ID: MACHINE_ID,
        MACHINE_CLIENT_SECRET: machineSecret,
        MACHINE_RESOURCE,
      },
      timeoutMs: 120_000,
    });
    assert.equal(code, 0, `manage.py test failed:\n${output}`);
    const ran = /Ran (\d+) tests?/.exec(output);
    assert.ok(ran && Number(ran[1]) > 0, `no Django test ran:\n${output}`);
    t.diagnostic(`Django: ${ran[0]}`);
    for (const line of output.split('\n').filter((l) => / \.\.\. ok$/.test(l))) t.diagnostic(line);
  });
});
