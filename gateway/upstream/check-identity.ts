/**
 * Who may sign in, decided on the claims the upstream returned (never on the login hint, which
 * the user controls): a verified e-mail, the Workspace domain in the `hd` claim (the `hd` login
 * parameter is only a UI hint), and the allowed e-mail domains.
 */
import { GatewayError } from '../errors.ts';
import type { UpstreamProfile } from '../accounts/account.ts';

export interface IdentityPolicy {
  hostedDomains: readonly string[];
  allowedEmailDomains: readonly string[];
}

function refuse(description: string): GatewayError {
  return new GatewayError('access_denied', 403, description);
}

/** Undefined when the identity may sign in, else the reason as a GatewayError. */
export function checkIdentity(profile: UpstreamProfile, policy: IdentityPolicy): GatewayError | undefined {
  const email = profile.email;
  if (email !== undefined) {
    // An address with more than one "@" (a@evil.com@corp.example) is refused outright: which part
    // is "the domain" depends on who parses it.
    const parts = email.split('@');
    if (parts.length !== 2 || !parts[0] || !parts[1]) return refuse('Your account\'s e-mail address is not a valid address.');
    if (profile.email_verified !== true) return refuse('Your e-mail address is not verified at your identity provider.');
  }
  if (policy.hostedDomains.length > 0) {
    const hd = profile.hd?.toLowerCase();
    if (hd === undefined || !policy.hostedDomains.some((d) => d.toLowerCase() === hd)) {
      return refuse('Your account does not belong to an allowed organisation (Google Workspace domain).');
    }
  }
  if (policy.allowedEmailDomains.length > 0) {
    const domain = email?.split('@')[1]?.toLowerCase();
    if (domain === undefined || !policy.allowedEmailDomains.includes(domain)) {
      return refuse('Your e-mail domain is not allowed to sign in here.');
    }
  }
  return undefined;
}
