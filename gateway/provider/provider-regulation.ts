/**
 * The limits of gateway/ops/regulation.ts on the OpenID Provider's endpoints (a Koa middleware for
 * `provider.use`, in front of every route; paths are canonical, see provider-routes.ts):
 *
 * - token, introspection, revocation: a failed client authentication (`invalid_client`) or an
 *   invalid code (`invalid_grant` on the authorization-code grant) counts against the client at
 *   that address and against the address. Refresh tokens that no longer work are routine (a user
 *   gone for two weeks) and not counted; neither is anything that succeeded. A refused client or
 *   address gets 429 before its request is looked at, so a guess past the limit is never checked;
 * - registration (RFC 7591/7592): every refused request counts against the address;
 * - authorization: a request whose parameters are over {@link MAX_AUTHORIZATION_REQUEST_BYTES} is
 *   refused before anything is stored, and each one that starts an interaction (a sign-in, kept in
 *   the store until it ends or expires) counts against the address's sign-in budget.
 *
 * - device authorization (RFC 8628): starting one is a client request (its failures counted as
 *   above) that keeps a device code in the store, so it spends the address's sign-in budget like
 *   an authorization; at the verification page, each wrong or empty user code counts against the
 *   address ({@link DEVICE_CODE_FAILURES} in the failure window, and the address failures), and
 *   an address past it is refused before its next code is looked at.
 *
 * The gateway's own in-process calls (forward auth's code exchange and refresh) are never counted.
 */
import type { IncomingMessage } from 'node:http';
import { addressKey, clientKey, isNavigationDestination, type Limit, type Regulation } from '../ops/regulation.ts';
import { isInProcess } from './mount-provider.ts';
import { PROVIDER_ROUTES } from './provider-routes.ts';
import { formParamsOrAnswer } from './form-body.ts';
import { WRONG_USER_CODE } from './device-flow.ts';
import { DEVICE_CODE_GRANT } from '../web/grant-types.ts';

/** An authorization request's parameters, at most: what one started sign-in may keep in the store. */
export const MAX_AUTHORIZATION_REQUEST_BYTES = 2048;

/** A registration's metadata (RFC 7591/7592), at most: what one client keeps in the store until removed. */
export const MAX_REGISTRATION_BYTES = 16 * 1024;

/**
 * Wrong user codes per address in the failure window. With 20^8 codes and every code living 10
 * minutes, an address guessing at this pace while 1,000 devices wait finds one about once in
 * 4 × 10^5 windows (20 × 1,000 / 20^8 per window).
 */
export const DEVICE_CODE_FAILURES = 20;

export interface ProviderLimits {
  /** Failures per client and address. */
  clientFailures: Limit;
  /** Failures per address, of every kind. */
  addressFailures: Limit;
  /** Interactions started per address. */
  signIns: Limit;
  /** Clients registered (RFC 7591) per address. */
  registrations: Limit;
  /** Wrong device user codes per address. */
  userCodes: Limit;
}

interface RegulatedContext {
  method: string;
  path: string;
  ip: string;
  querystring: string;
  req: IncomingMessage;
  status: number;
  body: unknown;
  oidc?: { client?: { clientId: string }; params?: Record<string, unknown> };
  is(type: string): string | false | null;
  get(name: string): string;
  set(name: string, value: string): void;
  response: { get(name: string): string };
  /** Koa's per-request state: device-flow.ts marks a wrong user code there. */
  state?: unknown;
}

type Kind = 'client' | 'registration' | 'authorization' | 'device' | 'user-code';

const CLIENT_ENDPOINTS = new Set<string>([
  PROVIDER_ROUTES.token,
  PROVIDER_ROUTES.introspection,
  PROVIDER_ROUTES.revocation,
]);

function kindOf(path: string, method: string): Kind | undefined {
  if (CLIENT_ENDPOINTS.has(path)) return 'client';
  if (path === PROVIDER_ROUTES.device_authorization) return 'device';
  if (path === PROVIDER_ROUTES.code_verification && method === 'POST') return 'user-code';
  if (path === PROVIDER_ROUTES.authorization) return 'authorization';
  if (path === PROVIDER_ROUTES.registration || path.startsWith(`${PROVIDER_ROUTES.registration}/`))
    return 'registration';
  return undefined;
}

/** The client id of HTTP Basic client authentication (RFC 6749 §2.3.1: form-encoded), if any. */
function basicClientId(header: string): string | undefined {
  if (!/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return decoded.slice(0, colon);
  }
}

function oauthError(ctx: RegulatedContext): string | undefined {
  const error = (ctx.body as { error?: unknown } | undefined)?.error;
  return ctx.status >= 400 && typeof error === 'string' ? error : undefined;
}

export interface ProviderRegulationDeps {
  regulation: Regulation;
  limits: ProviderLimits;
  /** Renders an error page (oidc-provider's `renderError`, the gateway's look). */
  renderError: (ctx: never, out: { error: string; error_description: string }) => void;
}

export function providerRegulation(deps: ProviderRegulationDeps) {
  const { regulation, limits } = deps;

  function refuse(ctx: RegulatedContext, kind: Kind, seconds: number): void {
    const description = `Too many failed attempts from this address or client: try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
    if (kind === 'authorization' || kind === 'user-code') {
      deps.renderError(ctx as never, {
        error: 'temporarily_unavailable',
        error_description:
          kind === 'user-code'
            ? `Too many wrong codes from this network: try again in ${seconds} second${seconds === 1 ? '' : 's'}.`
            : 'Too many sign-ins from this network: try again in a minute.',
      });
    } else {
      ctx.body = { error: 'temporarily_unavailable', error_description: description };
    }
    ctx.status = 429;
    ctx.set('retry-after', String(seconds));
    ctx.set('cache-control', 'no-store');
  }

  return async function regulate(ctx: RegulatedContext, next: () => Promise<void>): Promise<void> {
    const kind = kindOf(ctx.path, ctx.method);
    if (kind === undefined || isInProcess(ctx.req)) return next();
    const address = addressKey(ctx.ip);
    let clientId = basicClientId(ctx.get('authorization'));
    if ((kind === 'client' || kind === 'device') && clientId === undefined && ctx.method === 'POST') {
      const params = await formParamsOrAnswer(ctx);
      if (params === null) return;
      clientId = params?.get('client_id') ?? undefined;
    }
    const checks: Array<readonly [Limit, string]> = [[limits.addressFailures, address]];
    if (clientId !== undefined) checks.push([limits.clientFailures, clientKey(clientId, ctx.ip)]);
    if (kind === 'authorization' || kind === 'device') checks.push([limits.signIns, address]);
    if (kind === 'user-code') checks.push([limits.userCodes, address]);
    if (kind === 'registration' && ctx.method === 'POST') checks.push([limits.registrations, address]);
    const wait = regulation.retryAfter(checks);
    if (wait > 0) return refuse(ctx, kind, wait);

    if (
      kind === 'registration' &&
      (ctx.method === 'POST' || ctx.method === 'PUT') &&
      Number(ctx.get('content-length') || 0) > MAX_REGISTRATION_BYTES
    ) {
      ctx.status = 413;
      ctx.body = {
        error: 'invalid_client_metadata',
        error_description: `client metadata must stay under ${MAX_REGISTRATION_BYTES} bytes`,
      };
      return;
    }
    if (kind === 'authorization') {
      // Fetch Metadata: a browser says where a response will go, and a sign-in goes to a document
      // or a frame. Another site could make its visitors' browsers start sign-ins by the thousand
      // as `<img>`s or scripts' fetches, each kept in the store and counted against their
      // (office's) address: refused before anything is stored or counted. Programs send no
      // `Sec-Fetch-Dest` (Node's fetch sends only `Sec-Fetch-Mode`).
      if (!isNavigationDestination(ctx.get('sec-fetch-dest'))) {
        deps.renderError(ctx as never, {
          error: 'invalid_request',
          error_description: 'An authorization request is a navigation of the browser, not a subresource.',
        });
        ctx.status = 400;
        return;
      }
      const declared = Number(ctx.get('content-length') || 0);
      if (ctx.querystring.length > MAX_AUTHORIZATION_REQUEST_BYTES || declared > MAX_AUTHORIZATION_REQUEST_BYTES) {
        deps.renderError(ctx as never, {
          error: 'invalid_request',
          error_description: `The authorization request is longer than ${MAX_AUTHORIZATION_REQUEST_BYTES} bytes.`,
        });
        ctx.status = 400;
        return;
      }
    }

    await next();

    if (kind === 'authorization') {
      // Counted once the interaction exists; the step past the budget was refused up front.
      if (ctx.status >= 300 && ctx.status < 400 && ctx.response.get('location').includes('/interaction/')) {
        await regulation.count(limits.signIns, address);
      }
      return;
    }
    if (kind === 'user-code') {
      if ((ctx.state as Record<symbol, unknown> | undefined)?.[WRONG_USER_CODE]) {
        await regulation.count(limits.userCodes, address);
        await regulation.count(limits.addressFailures, address);
      }
      return;
    }
    // A device code stored: it spends the sign-in budget, as an interaction does.
    if (kind === 'device' && ctx.status === 200) {
      await regulation.count(limits.signIns, address);
      return;
    }
    // A client registered: counted, so that one address cannot fill the store with clients.
    if (kind === 'registration' && ctx.method === 'POST' && ctx.status === 201) {
      await regulation.count(limits.registrations, address);
      return;
    }
    const error = oauthError(ctx);
    if (error === undefined) return;
    if (kind === 'registration') {
      await regulation.count(limits.addressFailures, address);
      return;
    }
    // A code that does not work, of either kind a client redeems: a guess until shown otherwise.
    const grant = ctx.oidc?.params?.['grant_type'];
    const codeGuess = error === 'invalid_grant' && (grant === 'authorization_code' || grant === DEVICE_CODE_GRANT);
    if (error !== 'invalid_client' && !codeGuess) return;
    const failedClient =
      ctx.oidc?.client?.clientId ??
      clientId ??
      (typeof ctx.oidc?.params?.['client_id'] === 'string' ? ctx.oidc.params['client_id'] : undefined);
    if (failedClient !== undefined) await regulation.count(limits.clientFailures, clientKey(failedClient, ctx.ip));
    await regulation.count(limits.addressFailures, address);
  };
}
