/**
 * Whether a domain is a public suffix (`com`, `co.uk`, `github.io`): a name under which anyone can
 * register their own domain. A cookie set for one reaches every site below it, and a redirect
 * allowed to one lets the browser be sent to any of them; browsers themselves refuse such cookie
 * domains (RFC 6265 §5.3 step 5). The list is the Public Suffix List (publicsuffix.org) as
 * shipped by tldts, ICANN and private sections both, since browsers apply both; names under
 * a suffix the list does not know (`localhost`, `internal`) are not refused.
 */
import { loadTldts } from './load-on-first-use.ts';

export function isPublicSuffix(domain: string): boolean {
  const name = domain.replace(/^\./, '').replace(/:\d+$/, '').toLowerCase();
  const parsed = loadTldts().parse(name, { allowPrivateDomains: true });
  return parsed.publicSuffix === name && (parsed.isIcann === true || parsed.isPrivate === true);
}
