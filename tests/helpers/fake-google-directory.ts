/**
 * A stand-in for Google's token endpoint for service accounts and the Admin SDK Directory API
 * (oauth2.googleapis.com and admin.googleapis.com are unreachable from these machines), as they
 * behave for a service account with domain-wide delegation:
 * - `POST /token` takes an RFC 7523 JWT bearer assertion signed with the service account's key,
 *   whose `sub` is the admin it acts as and whose `scope` names the directory scope; anything else
 *   is `400 unauthorized_client` with Google's wording;
 * - `GET /admin/directory/v1/groups?userKey=…` lists the user's groups (direct memberships) in
 *   pages (`maxResults`, `nextPageToken`), 401 without a valid token, 404 for an unknown user;
 *   `userKey` may be a group's address, for the groups that group is a member of.
 * The key pair is made here, and the key file a Cloud console would give is `keyFile`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';

export interface FakeGoogleDirectory {
  url: string;
  /** The service-account key file's contents (JSON). */
  keyFile: string;
  /** Group e-mail addresses per user (or group) e-mail. */
  memberships: Map<string, string[]>;
  /** When true, the Directory answers 503 (an outage). */
  failing: boolean;
  /** Member keys (users or groups) whose lists answer 503. */
  failingKeys: Set<string>;
  counters: { token: number; list: number };
  close(): Promise<void>;
}

const SCOPE = 'https://www.googleapis.com/auth/admin.directory.group.readonly';

export async function startFakeGoogleDirectory(options: {
  adminEmail: string;
  /** Groups per page at most (Google's own maximum is 200). */
  pageSize?: number;
}): Promise<FakeGoogleDirectory> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const clientEmail = 'gateway-groups@example-project.iam.gserviceaccount.com';
  const tokens = new Set<string>();
  const counters = { token: 0, list: 0 };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  };
  const readForm = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return new URLSearchParams(text);
  };
  let url = '';
  const fake: FakeGoogleDirectory = {
    url: '',
    keyFile: '',
    memberships: new Map(),
    failing: false,
    failingKeys: new Set(),
    counters,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const unauthorizedClient = (res: ServerResponse) =>
    json(res, 400, {
      error: 'unauthorized_client',
      error_description:
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
    });

  const server = createServer(async (req, res) => {
    const at = new URL(req.url ?? '/', url);
    if (req.method === 'POST' && at.pathname === '/token') {
      counters.token += 1;
      const form = await readForm(req);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
        return json(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
      try {
        const { payload } = await jwtVerify(form.get('assertion') ?? '', await importSPKI(publicPem, 'RS256'), {
          issuer: clientEmail,
          audience: `${url}/token`,
        });
        if (
          payload.sub !== options.adminEmail ||
          !String(payload['scope'] ?? '')
            .split(' ')
            .includes(SCOPE)
        )
          return unauthorizedClient(res);
      } catch {
        return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      }
      const token = `ya29.${randomBytes(24).toString('base64url')}`;
      tokens.add(token);
      return json(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
    }
    if (req.method === 'GET' && at.pathname === '/admin/directory/v1/groups') {
      counters.list += 1;
      if (fake.failing)
        return json(res, 503, { error: { code: 503, message: 'The service is currently unavailable.' } });
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !tokens.has(bearer))
        return json(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.' } });
      const user = (at.searchParams.get('userKey') ?? '').toLowerCase();
      if (fake.failingKeys.has(user))
        return json(res, 503, { error: { code: 503, message: 'The service is currently unavailable.' } });
      // A group is a member key too (its own parent groups); one in no group has an empty list.
      const isGroup = [...fake.memberships.values()].some((groups) => groups.some((g) => g.toLowerCase() === user));
      const groups = fake.memberships.get(user) ?? (isGroup ? [] : undefined);
      if (!groups) return json(res, 404, { error: { code: 404, message: 'Resource Not Found: userKey' } });
      const size = Math.min(Number(at.searchParams.get('maxResults') ?? 200), options.pageSize ?? 200);
      const start = Number(at.searchParams.get('pageToken') ?? 0);
      const page = groups.slice(start, start + size);
      return json(res, 200, {
        kind: 'admin#directory#groups',
        etag: '"etag"',
        groups: page.map((email, i) => ({
          kind: 'admin#directory#group',
          id: `0${start + i}abcdef`,
          email,
          name: email.split('@')[0],
          directMembersCount: '3',
          adminCreated: true,
        })),
        ...(start + size < groups.length ? { nextPageToken: String(start + size) } : {}),
      });
    }
    json(res, 404, { error: { code: 404, message: 'Not Found' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = url;
  fake.keyFile = JSON.stringify({
    type: 'service_account',
    project_id: 'example-project',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    client_id: '100000000000000000001',
    token_uri: `${url}/token`,
  });
  return fake;
}
