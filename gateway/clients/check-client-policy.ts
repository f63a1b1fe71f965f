/**
 * The one registration policy, shared by the three doors an app comes in through: dynamic
 * registration (RFC 7591/7592 over HTTP), the operator CLI and the static clients file. It runs
 * before oidc-provider's own schema checks (which still run after it: types, enums, algorithms),
 * and says in each refusal what the developer should change.
 *
 * Rules:
 * - URIs (redirect, post-logout redirect, back-channel logout, JWKS, sector identifier): see
 *   check-client-uri.ts. At least one redirect URI, since the gateway serves the authorization
 *   code flow only. The URIs the gateway calls (back-channel logout, JWKS, sector identifier)
 *   may name a loopback or private host only when the operator allow-listed it
 *   (GATEWAY_OUTBOUND_PRIVATE_HOSTS): the caller passes that list in. `request_uris` is not
 *   among them: oidc-provider 9 no longer accepts it. The informational URIs (`client_uri`,
 *   `logo_uri`, `policy_uri`, `tos_uri`, `initiate_login_uri`) are never called by the gateway
 *   but shown or followed by people: no control characters there either, and no user name or
 *   password (it would be shown to everyone who sees the client).
 * - Client authentication (RFC 7591 §2 `token_endpoint_auth_method`):
 *   - `none`: a public client (SPA, native app). It gets no secret and must use PKCE with S256
 *     (RFC 7636, RFC 9700 §2.1.1); oidc-provider enforces that at the authorization endpoint
 *     (PKCE is required for `none` clients and S256 is the only method offered).
 *   - `client_secret_basic`, `client_secret_post` (RFC 6749 §2.3.1) or `private_key_jwt`
 *     (RFC 7523 §2.2; needs `jwks` or `jwks_uri`): a confidential client. Secrets given by an
 *     operator (clients file) must be long enough to resist guessing.
 *   - nothing else: `client_secret_jwt` would make the client secret a signing key that must stay
 *     in plain text everywhere, and the mTLS methods need a TLS setup the gateway does not have.
 * - Operator-only metadata: `first_party` (consent skipped), `resources` (audiences the client
 *   may get access tokens for) and `introspection_audiences` (audiences whose access tokens the
 *   client, a resource server, may introspect: RFC 7662 §2.1 leaves who may learn what to the
 *   authorization server) grant trust, so only an operator sets them (CLI or file); dynamic
 *   registration refuses them with `invalid_client_metadata`.
 * - Operator-only grant: token exchange (RFC 8693) hands the user's upstream (Google) access token
 *   to the client, so only an operator allows it (CLI or file), and never to a public client: a
 *   client that holds no secret cannot prove at the token endpoint that it is the app the user
 *   consented to (RFC 8693 §2.1 expects client authentication; RFC 6749 §2.1). Dynamic
 *   registration and RFC 7592 updates refuse it with `invalid_client_metadata`.
 * - `introspection_audiences` also needs a confidential client: RFC 7662 §2.1 wants the caller
 *   authenticated, and a public client authenticates with nothing but its (public) id.
 * - Operator-only grant: client credentials (RFC 6749 §4.4) makes the client a caller of its own,
 *   with tokens for its registered `resources` and `scope`, and no user to consent: only an
 *   operator allows it, only to a confidential client (§4.4 requires client authentication), and
 *   never to a client_id shaped like a user's `sub` (a UUID), so that no app can take a machine's
 *   token for a user's. A client with no authorization code grant (a machine alone) needs no
 *   redirect URI.
 * - Operator-only grant: the device authorization grant (RFC 8628) lets whoever starts it send a
 *   user a code to confirm (its phishing risk, §5.4): only an operator gives it, public clients
 *   (a CLI) included.
 */
import { isPlaceholderSecret } from '../../config/value-parsers.ts';
import { errors } from 'oidc-provider';
import {
  checkClientUriList,
  checkFetchedClientUri,
  checkNoControlCharacters,
  checkNoCredentials,
  CONTROL_OR_SPACE,
} from './check-client-uri.ts';
import { CLIENT_CREDENTIALS_GRANT, DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT } from '../web/grant-types.ts';

/** Where a registration came from. */
export type RegistrationDoor = 'registration' | 'cli' | 'file';

/** The client authentication methods the gateway accepts (also what discovery advertises). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;

/** The method used when a registration names none (RFC 7591 §2: the default is basic). */
export const DEFAULT_CLIENT_AUTH_METHOD = 'client_secret_basic';

/** Client metadata naming a URI the gateway calls on the client's behalf. */
const FETCHED_URI_METADATA = ['jwks_uri', 'backchannel_logout_uri', 'sector_identifier_uri'] as const;

/** Client metadata naming a URI for people (shown on pages, followed by browsers). */
const INFORMATIONAL_URI_METADATA = ['client_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'initiate_login_uri'] as const;

/** What the policy needs of the gateway's settings. */
export interface ClientPolicySettings {
  /** `host:port` of private services the gateway may call (GATEWAY_OUTBOUND_PRIVATE_HOSTS). */
  outboundPrivateHosts: readonly string[];
  /** The configured upstreams (GATEWAY_UPSTREAMS or the shorthand's), which `allowed_upstreams` names. */
  upstreams?: readonly { id: string }[];
}

/** Metadata that grants trust: settable through the CLI or the file, never through registration. */
export const OPERATOR_ONLY_METADATA = [
  'first_party',
  'resources',
  'introspection_audiences',
  'allowed_upstreams',
  'token_exchange_audiences',
] as const;

/** True when the metadata's `grant_types` include token exchange. */
function allowsTokenExchange(metadata: { grant_types?: unknown }): boolean {
  return allowsGrant(metadata, TOKEN_EXCHANGE_GRANT);
}

/** True when the metadata's `grant_types` include `grant` (absent: the default, the code flow). */
function allowsGrant(metadata: { grant_types?: unknown }, grant: string): boolean {
  if (metadata.grant_types === undefined) return grant === 'authorization_code' || grant === 'refresh_token';
  return Array.isArray(metadata.grant_types) && metadata.grant_types.includes(grant);
}

/** A user's `sub` is a UUID (account-store.ts): a machine's must never look like one. */
const UUID_SHAPED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shortest client secret accepted from an operator (the CLI and registration generate 43 characters). */
export const MIN_CLIENT_SECRET_LENGTH = 32;

/** True for a client that authenticates with a shared secret. */
export function usesClientSecret(metadata: { token_endpoint_auth_method?: unknown }): boolean {
  const method = metadata.token_endpoint_auth_method ?? DEFAULT_CLIENT_AUTH_METHOD;
  return method === 'client_secret_basic' || method === 'client_secret_post';
}

function refuse(description: string): never {
  throw new errors.InvalidClientMetadata(description);
}

/**
 * Throws oidc-provider's `InvalidClientMetadata` (answered as `invalid_client_metadata`, or
 * `invalid_redirect_uri` for redirect URIs) when `metadata` breaks the policy for `door`.
 */
/** The longest client name shown on the consent page: a name, not a message to the user. */
export const MAX_CLIENT_NAME_LENGTH = 100;

/**
 * The name the consent page shows as "who asks": a short, plain, visible string. Invisible
 * formatting (a right-to-left override turning `moc.elgoog` into `google.com`), control characters
 * and paragraphs of text would let a registrant disguise their app as another.
 */
function checkClientName(name: unknown): void {
  if (name === undefined) return;
  if (typeof name !== 'string' || name.trim() === '') refuse('client_name must be a non-empty string');
  if ([...name].length > MAX_CLIENT_NAME_LENGTH)
    refuse(`client_name must be at most ${MAX_CLIENT_NAME_LENGTH} characters`);
  const hidden = CONTROL_OR_SPACE.exec(name.replace(/ /g, ''))?.[0];
  if (hidden !== undefined) {
    refuse(
      `client_name contains an invisible or control character (U+${(hidden.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}); use plain text`,
    );
  }
}

export function checkClientPolicy(
  metadata: Record<string, unknown>,
  door: RegistrationDoor,
  settings: ClientPolicySettings,
): void {
  if (door === 'registration') {
    for (const key of OPERATOR_ONLY_METADATA) {
      if (metadata[key] !== undefined) {
        refuse(
          `${key} can be set only by an operator (npx gateway clients add, or GATEWAY_CLIENTS_FILE); remove it from the registration request`,
        );
      }
    }
    if (allowsTokenExchange(metadata)) {
      refuse(
        `the grant type ${TOKEN_EXCHANGE_GRANT} can be given only by an operator (npx gateway clients add --token-exchange, or GATEWAY_CLIENTS_FILE); remove it from grant_types`,
      );
    }
    if (typeof metadata['scope'] === 'string' && metadata['scope'].split(' ').includes('gateway:admin')) {
      refuse('the scope gateway:admin can be given only by an operator (npx gateway clients add --scope); remove it');
    }
    for (const [grant, short] of [
      [CLIENT_CREDENTIALS_GRANT, 'client_credentials'],
      [DEVICE_CODE_GRANT, 'device_code'],
    ] as const) {
      if (allowsGrant(metadata, grant)) {
        refuse(
          `the grant type ${grant} can be given only by an operator (npx gateway clients add --grant ${short}, or GATEWAY_CLIENTS_FILE); remove it from grant_types`,
        );
      }
    }
  }

  checkClientName(metadata['client_name']);

  const method = metadata['token_endpoint_auth_method'] ?? DEFAULT_CLIENT_AUTH_METHOD;
  if (typeof method !== 'string' || !(CLIENT_AUTH_METHODS as readonly string[]).includes(method)) {
    refuse(
      'token_endpoint_auth_method must be "none" (public clients: SPAs and native apps, with PKCE S256), ' +
        '"client_secret_basic", "client_secret_post" or "private_key_jwt"',
    );
  }

  if (method === 'none' && allowsTokenExchange(metadata)) {
    refuse(
      `a public client (token_endpoint_auth_method "none") cannot have the grant type ${TOKEN_EXCHANGE_GRANT}: it would hand the user's upstream token to anyone who knows its client_id; use a confidential client`,
    );
  }
  if (allowsGrant(metadata, CLIENT_CREDENTIALS_GRANT)) {
    if (method === 'none')
      refuse(
        `a public client (token_endpoint_auth_method "none") cannot have the grant type ${CLIENT_CREDENTIALS_GRANT}: anyone who knows its client_id could get its tokens (RFC 6749 §4.4 requires client authentication); use a confidential client`,
      );
    if (typeof metadata['client_id'] === 'string' && UUID_SHAPED.test(metadata['client_id']))
      refuse(
        `a client with the grant type ${CLIENT_CREDENTIALS_GRANT} cannot have a UUID as client_id: its tokens' sub is its client_id, and users' subs are UUIDs; choose another id`,
      );
  }
  if (metadata['token_exchange_audiences'] !== undefined && !allowsTokenExchange(metadata)) {
    refuse(
      `token_exchange_audiences needs the grant type ${TOKEN_EXCHANGE_GRANT} (npx gateway clients allow-exchange gives both)`,
    );
  }
  if (method === 'none' && metadata['introspection_audiences'] !== undefined) {
    refuse(
      'a public client (token_endpoint_auth_method "none") cannot have introspection_audiences: introspection needs client authentication (RFC 7662 §2.1); use a confidential client',
    );
  }

  // The code flow needs somewhere to send the code; a machine alone (client credentials) does not.
  checkClientUriList('redirect_uris', metadata['redirect_uris'], {
    required: allowsGrant(metadata, 'authorization_code'),
  });
  checkClientUriList('post_logout_redirect_uris', metadata['post_logout_redirect_uris']);
  for (const field of FETCHED_URI_METADATA) {
    if (metadata[field] !== undefined) checkFetchedClientUri(field, metadata[field], settings.outboundPrivateHosts);
  }
  for (const field of INFORMATIONAL_URI_METADATA) {
    const uri = metadata[field];
    if (typeof uri !== 'string') continue;
    // Shown to people on consent pages and in client listings: never with a password in it.
    checkNoCredentials(field, uri);
    checkNoControlCharacters(field, uri);
  }

  if (door === 'registration') return; // the provider generates and keeps the secret itself
  const secret = metadata['client_secret'];
  if (method === 'none' || method === 'private_key_jwt') {
    if (secret !== undefined) {
      refuse(
        `a ${method === 'none' ? 'public client (token_endpoint_auth_method "none")' : 'private_key_jwt client'} has no client secret; remove client_secret`,
      );
    }
  } else if (typeof secret === 'string' && isPlaceholderSecret(secret)) {
    refuse('client_secret is the placeholder of an example: generate one (openssl rand -base64 32)');
  } else if (typeof secret !== 'string' || secret.length < MIN_CLIENT_SECRET_LENGTH) {
    refuse(
      `a confidential client (${method}) needs a client_secret of at least ${MIN_CLIENT_SECRET_LENGTH} characters ` +
        '(e.g. from `openssl rand -base64 32`), or token_endpoint_auth_method "none" for a public client',
    );
  }
}
