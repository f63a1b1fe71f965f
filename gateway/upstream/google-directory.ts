/**
 * Google Workspace groups, from the Admin SDK Directory API (`groups.list?userKey=`), with a
 * service account the Workspace admin allowed domain-wide delegation to, acting as an admin
 * (oauth2-proxy's `--google-admin-email` and `--google-service-account-json`). The service
 * account signs a JWT (RFC 7523) for the read-only directory scope, trades it at its `token_uri`
 * for an access token (kept until a minute before it expires), and reads the user's groups page
 * by page. What is released is each group's e-mail address, lower-cased.
 *
 * Directory's `groups.list` gives direct memberships only. With `nested`, the groups those groups
 * are members of are read the same way (`userKey` may name a group), level by level, a few at a
 * time, until no new group appears or MAX_NESTED_LOOKUPS lists were read: a cycle ends, and a
 * deeper tree yields the groups found so far (fewer groups: never more access than is true).
 */
import { importPKCS8, SignJWT } from 'jose';
import { isRecord, profileApiAnswer } from './upstream-client.ts';

const SCOPE = 'https://www.googleapis.com/auth/admin.directory.group.readonly';
const TIMEOUT_MS = 10_000;
/** Pages of 200 (Directory's most), and no more than this many: a user in 2,000 groups is odd enough. */
const MAX_PAGES = 10;
/** Groups whose own memberships are read, at most, for one user (`nested`). */
const MAX_NESTED_LOOKUPS = 100;
/** Those lookups run this many at a time. */
const NESTED_PARALLEL = 8;

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  token_uri: string;
}

/** The key file's fields the gateway needs, or why it is not a service-account key. */
export function parseServiceAccountKey(text: string): ServiceAccountKey | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'is not JSON (download the key as JSON from the Cloud console)';
  }
  if (!isRecord(json) || json['type'] !== 'service_account')
    return 'is not a service-account key (type service_account)';
  const { client_email: email, private_key: key, token_uri: tokenUri } = json;
  if (typeof email !== 'string' || typeof key !== 'string' || typeof tokenUri !== 'string')
    return 'lacks client_email, private_key or token_uri';
  return { client_email: email, private_key: key, token_uri: tokenUri };
}

export interface GoogleDirectory {
  /** The e-mail addresses of the groups `userEmail` is a member of (directly, unless `nested`). */
  groupsOf(userEmail: string): Promise<string[]>;
}

export function createGoogleDirectory(options: {
  key: ServiceAccountKey;
  /** The Workspace admin the service account acts as. */
  adminEmail: string;
  /** https://admin.googleapis.com, or a stand-in. */
  directoryUrl: string;
  /** Also the groups of the user's groups, and so on. */
  nested?: boolean;
}): GoogleDirectory {
  const { key, adminEmail, directoryUrl, nested = false } = options;
  let token: { value: string; expiresAt: number } | undefined;

  async function accessToken(): Promise<string> {
    if (token && token.expiresAt - 60_000 > Date.now()) return token.value;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(key.client_email)
      .setSubject(adminEmail)
      .setAudience(key.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await importPKCS8(key.private_key, 'RS256'));
    const response = await fetch(key.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || typeof answer['access_token'] !== 'string') {
      // e.g. unauthorized_client: the delegation was not granted for this scope.
      throw new Error(`the Google service account got no token (${String(answer['error'] ?? response.status)})`);
    }
    const lifetime = typeof answer['expires_in'] === 'number' ? answer['expires_in'] : 3600;
    token = { value: answer['access_token'], expiresAt: Date.now() + lifetime * 1000 };
    return token.value;
  }

  /** The groups `memberKey` (a user or a group) is a direct member of. */
  async function directGroups(memberKey: string): Promise<string[]> {
    const groups: string[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const url = new URL('/admin/directory/v1/groups', directoryUrl);
      url.searchParams.set('userKey', memberKey);
      url.searchParams.set('maxResults', '200');
      if (pageToken) url.searchParams.set('pageToken', pageToken);
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${await accessToken()}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (response.status === 401) token = undefined;
      const answer = await profileApiAnswer(response, 'Google Directory groups.list');
      const listed = isRecord(answer) && Array.isArray(answer['groups']) ? answer['groups'] : [];
      for (const group of listed)
        if (isRecord(group) && typeof group['email'] === 'string') groups.push(group['email'].toLowerCase());
      pageToken = isRecord(answer) && typeof answer['nextPageToken'] === 'string' ? answer['nextPageToken'] : undefined;
      if (!pageToken) break;
    }
    return groups;
  }

  return {
    async groupsOf(userEmail) {
      const found = new Set(await directGroups(userEmail));
      if (!nested) return [...found];
      let level = [...found];
      let lookups = 0;
      while (level.length > 0 && lookups < MAX_NESTED_LOOKUPS) {
        const next: string[] = [];
        for (let i = 0; i < level.length && lookups < MAX_NESTED_LOOKUPS; i += NESTED_PARALLEL) {
          const batch = level.slice(i, i + NESTED_PARALLEL).slice(0, MAX_NESTED_LOOKUPS - lookups);
          lookups += batch.length;
          for (const parents of await Promise.all(batch.map(directGroups)))
            for (const parent of parents)
              if (!found.has(parent)) {
                found.add(parent);
                next.push(parent);
              }
        }
        level = next;
      }
      return [...found];
    },
  };
}
