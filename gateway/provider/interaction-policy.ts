/**
 * oidc-provider's default interaction policy, plus two login checks:
 * - an app asking for `upstream_token` that may not receive upstream tokens is refused before the
 *   user is sent to sign in (upstream-token-scope.ts);
 * - a session whose user's upstream link has ended (Google said `invalid_grant`, the tokens were
 *   dropped) must sign in at the upstream again, instead of passing on the strength of a gateway
 *   session Google no longer backs;
 * - a client that accepts only some upstreams (`allowed_upstreams`, operator-only) gets no code for
 *   a session that signed in through another: the user signs in again at one it accepts.
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { signedInThrough } from '../upstream/signed-in-through.ts';
import { upstreamTokenScopeCheck } from './upstream-token-scope.ts';
import { adminScopeCheck } from './admin-scope.ts';

/**
 * The upstream this browser's session signed in through (upstream-login.ts records it in `amr`),
 * not the account's latest one: a linked account may sign in elsewhere through another. Undefined
 * for sessions older than that record.
 */
function sessionUpstream(ctx: KoaContextWithOIDC): string | undefined {
  return signedInThrough(ctx.oidc.session?.amr);
}

export function createInteractionPolicy(
  /**
   * Whether the session of `sub` (signed in at `loginTs`, epoch seconds) still stands: the account
   * holds tokens at the upstream `upstreamId` (undefined: its own), is not disabled, and was not
   * enabled again after this sign-in (a sign-in that raced a disable never comes back with it).
   */
  upstreamLinkAlive: (sub: string, upstreamId: string | undefined, loginTs?: number) => Promise<boolean>,
  accountUpstreamId?: (sub: string) => Promise<string | undefined>,
) {
  const { base, Check } = interactionPolicy;
  const policy = base();
  const login = policy.get('login');
  if (!login) throw new Error('oidc-provider base policy has no login prompt');
  login.checks.add(upstreamTokenScopeCheck());
  login.checks.add(adminScopeCheck());
  login.checks.add(
    new Check(
      'upstream_link_gone',
      'End-User must sign in at the upstream identity provider again',
      async (ctx: KoaContextWithOIDC) => {
        const sub = ctx.oidc.session?.accountId;
        if (!sub) return Check.NO_NEED_TO_PROMPT;
        const alive = await upstreamLinkAlive(sub, sessionUpstream(ctx), ctx.oidc.session?.loginTs);
        return alive ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
      },
    ),
  );
  login.checks.add(
    new Check(
      'upstream_not_allowed',
      'End-User must sign in at an identity provider this client accepts',
      async (ctx: KoaContextWithOIDC) => {
        const allowed = ctx.oidc.client?.metadata()['allowed_upstreams'];
        const sub = ctx.oidc.session?.accountId;
        if (!Array.isArray(allowed) || !sub || !accountUpstreamId) return Check.NO_NEED_TO_PROMPT;
        // Sessions older than the record of their upstream fall back to the account's.
        const used = sessionUpstream(ctx) ?? (await accountUpstreamId(sub));
        return allowed.includes(used) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
      },
    ),
  );
  return policy;
}
