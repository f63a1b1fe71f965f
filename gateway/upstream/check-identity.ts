/**
 * Who may sign in, decided on the claims the upstream returned (never on the login hint, which
 * the user controls): a verified e-mail, the Workspace domain in the `hd` claim (the `hd` login
 * parameter is only a UI hint), and the allowed e-mail domains.
 *
 * An e-mail counts as verified only when the upstream says so (`email_verified`, OIDC Core §5.1).
 * Some upstreams (Microsoft Entra ID among them) never send the claim; their users are refused
 * too, but the refusal says that the claim was missing rather than false, so that neither the
 * user nor the operator looks for an unverified address.
 *
 * Each refusal carries its page text in English (the description, also logged) and, as a message
 * key, in the reader's language (gateway/web/pages/i18n.ts).
 */
import { GatewayError } from '../web/errors.ts';
import type { UpstreamProfile } from '../accounts/account.ts';
import { messagesFor, type MessageKey } from '../web/pages/i18n.ts';

export interface IdentityPolicy {
  hostedDomains: readonly string[];
  /** GATEWAY_ALLOWED_EMAIL_DOMAINS, for every upstream; [] = any. */
  allowedEmailDomains: readonly string[];
  /** The upstream's own `allowed_email_domains`, which must hold too; [] or absent = any. */
  upstreamEmailDomains?: readonly string[];
}

const english = messagesFor('en');

function refuse(messageKey: MessageKey): GatewayError {
  return new GatewayError('access_denied', 403, english[messageKey], { messageKey });
}

/** Undefined when the identity may sign in, else the reason as a GatewayError. */
export function checkIdentity(profile: UpstreamProfile, policy: IdentityPolicy): GatewayError | undefined {
  const email = profile.email;
  if (email !== undefined) {
    // An address with more than one "@" (a@evil.com@corp.example) is refused outright: which part
    // is "the domain" depends on who parses it.
    const parts = email.split('@');
    if (parts.length !== 2 || !parts[0] || !parts[1]) return refuse('refusedInvalidEmail');
    if (profile.email_verified === undefined) return refuse('refusedEmailVerificationUnknown');
    if (profile.email_verified !== true) return refuse('refusedEmailUnverified');
  }
  if (policy.hostedDomains.length > 0) {
    const hd = profile.hd?.toLowerCase();
    if (hd === undefined || !policy.hostedDomains.some((d) => d.toLowerCase() === hd)) {
      return refuse('refusedHostedDomain');
    }
  }
  const domain = email?.split('@')[1]?.toLowerCase();
  for (const allowed of [policy.allowedEmailDomains, policy.upstreamEmailDomains ?? []]) {
    if (allowed.length > 0 && (domain === undefined || !allowed.includes(domain))) return refuse('refusedEmailDomain');
  }
  return undefined;
}
