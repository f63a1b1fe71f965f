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
 * Membership rules come first: Entra ID tenants (the token's `tid`), GitHub organizations
 * (`GET /user/orgs`), GitLab groups (the `groups` claim). A user with no e-mail (Kakao and Naver
 * release it only with the user's agreement) passes unless an e-mail-domain rule applies, and
 * then is told the address was not shared.
 *
 * Each refusal carries its page text in English (the description, also logged) and, as a message
 * key, in the reader's language (gateway/web/pages/i18n.ts).
 */
import { GatewayError } from '../web/errors.ts';
import type { UpstreamProfile } from '../accounts/account.ts';
import { messagesFor, type MessageKey } from '../web/pages/i18n.ts';

export interface IdentityPolicy {
  hostedDomains: readonly string[];
  /** Microsoft: the Entra ID tenants (GUIDs) whose users may sign in; absent = not checked. */
  allowedTenants?: readonly string[];
  /** GitHub: organizations (lower-cased logins), one of which the user must belong to. */
  allowedOrgs?: readonly string[];
  /** GitLab: groups (lower-cased full paths), one of which (or a subgroup) the user must belong to. */
  allowedGroups?: readonly string[];
  /** GATEWAY_ALLOWED_EMAIL_DOMAINS, for every upstream; [] = any. */
  allowedEmailDomains: readonly string[];
  /** The upstream's own `allowed_email_domains`, which must hold too; [] or absent = any. */
  upstreamEmailDomains?: readonly string[];
}

const english = messagesFor('en');

function refuse(messageKey: MessageKey): GatewayError {
  return new GatewayError('access_denied', 403, english[messageKey], { messageKey });
}

/** What the upstream says the user belongs to, for the membership rules (upstream-profile.ts). */
export interface Memberships {
  /** Microsoft's `tid`. */
  tenant?: string | undefined;
  /** GitHub organizations, lower-cased logins. */
  orgs?: readonly string[] | undefined;
  /** GitLab groups, lower-cased full paths. */
  groups?: readonly string[] | undefined;
}

/** A GitLab group rule admits the group's members and its subgroups' (`acme` admits `acme/platform`). */
const inGroup = (groups: readonly string[], allowed: string) =>
  groups.some((group) => group === allowed || group.startsWith(`${allowed}/`));

/** Undefined when the identity may sign in, else the reason as a GatewayError. */
export function checkIdentity(
  profile: UpstreamProfile,
  policy: IdentityPolicy,
  memberships: Memberships = {},
): GatewayError | undefined {
  // Who the user belongs to first: the refusal then names the rule that matters most.
  if (policy.allowedTenants && !(memberships.tenant && policy.allowedTenants.includes(memberships.tenant)))
    return refuse('refusedTenant');
  if (policy.allowedOrgs?.length && !policy.allowedOrgs.some((org) => memberships.orgs?.includes(org)))
    return refuse('refusedOrg');
  if (policy.allowedGroups?.length && !policy.allowedGroups.some((group) => inGroup(memberships.groups ?? [], group)))
    return refuse('refusedGroup');
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
    if (allowed.length === 0) continue;
    // Kakao and Naver release an address only if the user agreed: say so rather than "not allowed".
    if (domain === undefined) return refuse('refusedEmailMissing');
    if (!allowed.includes(domain)) return refuse('refusedEmailDomain');
  }
  return undefined;
}
