/**
 * Google tokens on demand: OAuth 2.0 Token Exchange (RFC 8693) of an app's gateway access token
 * for the user's current upstream (Google) access token, so the app can call Google APIs without
 * ever handling Google's refresh tokens.
 *
 * Only clients an operator allowed (`grant_types` includes the token-exchange grant, which only
 * the CLI or the clients file can set) may ask; the subject token must be the client's own; the
 * answer carries only the scopes the user granted Google. An expired upstream token is refreshed
 * first, under the per-user lock; a gone upstream grant answers `invalid_grant`. Every exchange is
 * an audit event.
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { UpstreamLinkGoneError, type UpstreamTokenVault } from '../upstream/upstream-tokens.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_EXCHANGE_PARAMETERS = ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'];

/** Refresh a little before the upstream says, so the app gets a token that still works. */
const EXPIRY_MARGIN_MS = 60_000;

export interface TokenExchangeDeps {
  verify: AccessTokenVerifier;
  vault: UpstreamTokenVault;
  upstreamIssuer: string;
  audit: (event: object) => void;
}

export function upstreamTokenExchange(deps: TokenExchangeDeps) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const client = ctx.oidc.client;
    if (!client) throw new errors.InvalidClient('client authentication failed');
    if (params['subject_token_type'] !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params['requested_token_type'] !== undefined && params['requested_token_type'] !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`only ${ACCESS_TOKEN_TYPE} can be requested`);
    }
    const audience = params['audience'] ?? params['resource'];
    if (audience !== undefined && audience !== deps.upstreamIssuer) {
      throw new errors.InvalidTarget(`tokens can be exchanged only for the upstream identity provider (${deps.upstreamIssuer})`);
    }
    let subject;
    try {
      subject = await deps.verify(params['subject_token'] ?? '');
    } catch {
      throw new errors.InvalidGrant('subject_token is invalid or has expired');
    }
    if (subject.client_id !== client.clientId) throw new errors.InvalidGrant('subject_token was issued to another client');

    let tokens = await deps.vault.load(subject.sub);
    try {
      if (!tokens) throw new UpstreamLinkGoneError('no upstream tokens are stored for this account');
      if (tokens.expires_at !== undefined && tokens.expires_at - EXPIRY_MARGIN_MS < Date.now()) {
        tokens = await deps.vault.refresh(subject.sub, tokens);
      }
    } catch (error) {
      if (error instanceof UpstreamLinkGoneError) {
        throw new errors.InvalidGrant('the user\'s upstream grant is gone; the user must sign in again');
      }
      throw error;
    }
    deps.audit({ event: 'upstream_token_exchanged', client_id: client.clientId, sub: subject.sub });
    ctx.body = {
      access_token: tokens.access_token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      ...(tokens.expires_at === undefined ? {} : { expires_in: Math.max(0, Math.floor((tokens.expires_at - Date.now()) / 1000)) }),
      ...(tokens.scope === undefined ? {} : { scope: tokens.scope }),
    };
  };
}
