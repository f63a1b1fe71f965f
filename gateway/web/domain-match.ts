/**
 * Host matching for cookie and redirect domains: `.example.com` covers the apex and every
 * subdomain, `example.com` only itself, and a `:port` suffix, when given, must match exactly.
 */

export interface DomainPattern {
  host: string;
  subdomains: boolean;
  port: string | undefined;
}

export function parseDomainPattern(pattern: string): DomainPattern {
  const lower = pattern.trim().toLowerCase();
  const subdomains = lower.startsWith('.');
  const body = subdomains ? lower.slice(1) : lower;
  const colon = body.lastIndexOf(':');
  const hasPort = colon > 0 && /^\d+$/.test(body.slice(colon + 1));
  return { host: hasPort ? body.slice(0, colon) : body, subdomains, port: hasPort ? body.slice(colon + 1) : undefined };
}

/** True when `hostname` (and `port`, '' for the scheme's default) is within the pattern. */
export function hostMatches(pattern: DomainPattern, hostname: string, port: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (pattern.port !== undefined && pattern.port !== port) return false;
  if (host === pattern.host) return true;
  return pattern.subdomains && host.endsWith(`.${pattern.host}`);
}

/**
 * The cookie domain for a request host: the longest configured cookie domain it falls under,
 * or undefined (a host-only cookie) when none does.
 */
export function cookieDomainFor(hostname: string, cookieDomains: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const domain of cookieDomains) {
    const pattern = parseDomainPattern(domain.startsWith('.') ? domain : `.${domain}`);
    if (
      hostMatches({ ...pattern, port: undefined }, hostname, '') &&
      (best === undefined || pattern.host.length > best.length)
    ) {
      best = pattern.host;
    }
  }
  return best;
}
