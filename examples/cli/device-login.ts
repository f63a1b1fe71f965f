/**
 * A command-line tool that signs its user in without a browser of its own: the device
 * authorization grant (RFC 8628) at the gateway, with openid-client. It prints a code and where to
 * type it (on a phone, a laptop), waits while the user signs in there, then calls an API with the
 * access token and prints the answer. The tokens stay in memory: a real tool would keep the
 * refresh token in the system's keychain.
 *
 *   node examples/cli/device-login.ts --issuer https://auth.example.com --client-id acme-cli \
 *     --api https://api.example.com/api/me --resource https://api.example.com
 *
 * The client is registered by an operator as a public client with the device grant:
 *   npx gateway clients add --id acme-cli --name "Acme CLI" --public --grant device_code \
 *     --resource https://api.example.com
 */
import { parseArgs } from 'node:util';
import * as client from 'openid-client';

const { values } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    api: { type: 'string' },
    resource: { type: 'string' },
    scope: { type: 'string', default: 'openid email profile offline_access' },
  },
});
const { issuer, api, resource, scope } = values;
const clientId = values['client-id'];
if (!issuer || !clientId || !api) {
  process.stderr.write(
    'usage: node examples/cli/device-login.ts --issuer URL --client-id ID --api URL [--resource URI] [--scope SCOPES]\n',
  );
  process.exit(2);
}

// Plain http is for a gateway on this machine only (the README's five-minute tour).
const local = new URL(issuer).protocol === 'http:';
const config = await client.discovery(
  new URL(issuer),
  clientId,
  undefined,
  client.None(),
  local ? { execute: [client.allowInsecureRequests] } : undefined,
);
const parameters: Record<string, string> = { scope: scope ?? 'openid' };
if (resource) parameters['resource'] = resource;

const device = await client.initiateDeviceAuthorization(config, parameters);
process.stdout.write(
  `To sign in, open ${device.verification_uri} and enter the code ${device.user_code}\n` +
    `(or open ${device.verification_uri_complete ?? device.verification_uri})\n`,
);

let tokens: Awaited<ReturnType<typeof client.pollDeviceAuthorizationGrant>>;
try {
  tokens = await client.pollDeviceAuthorizationGrant(config, device, resource ? { resource } : undefined);
} catch (error) {
  const code = (error as { error?: string }).error;
  process.stderr.write(
    code === 'access_denied'
      ? 'Sign-in cancelled.\n'
      : code === 'expired_token'
        ? 'The code expired before anyone entered it: run me again.\n'
        : `Sign-in failed: ${code ?? (error as Error).message}\n`,
  );
  process.exit(1);
}
const who = tokens.claims();
process.stdout.write(`Signed in as ${String(who?.['email'] ?? who?.sub ?? 'someone')}\n`);

const answer = await fetch(api, { headers: { authorization: `Bearer ${tokens.access_token}` } });
process.stdout.write(`${api} answered ${answer.status}: ${await answer.text()}\n`);
process.exit(answer.ok ? 0 : 1);
