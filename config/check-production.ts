/**
 * The rules that hold only with `NODE_ENV=production`, where a development default or a
 * convenient shortcut would become a hole. Each broken rule is one problem line; values given
 * but invalid on their own (a short secret, a malformed range) already have their own line and
 * are skipped here, so that no setting is reported twice.
 */
import { BlockList, isIP } from 'node:net';
import { isLoopbackHost } from './url-parsers.ts';

/** The settings these rules read (names of schema.ts, which calls this). */
type SettingName =
  | 'GATEWAY_ISSUER'
  | 'GATEWAY_SECRETS'
  | 'GATEWAY_TRUSTED_PROXIES'
  | 'UPSTREAM_CLIENT_ID'
  | 'UPSTREAM_CLIENT_SECRET'
  | 'GATEWAY_UPSTREAMS';

type Problem = (name: SettingName, message: string) => void;

/**
 * Bits a secret must carry by the estimate below. A random 32-character hex string
 * (`openssl rand -hex 16`, 128 random bits) is estimated at 89 bits or more in a million draws;
 * `openssl rand -base64 32` at about 190. Thirty-two identical characters score 0 and
 * `abab…` 32.
 */
export const MIN_SECRET_BITS = 80;

/**
 * The secret's length times the Shannon entropy of its own character frequencies: a rough upper
 * bound on what it holds, which cannot tell a random string from a clever pattern but does catch
 * the low-variety values people type (`aaaa…`, `changeme-changeme-…`, `abab…`).
 */
export function estimatedSecretBits(secret: string): number {
  const counts = new Map<string, number>();
  for (const character of secret) counts.set(character, (counts.get(character) ?? 0) + 1);
  const length = [...secret].length;
  let bitsPerCharacter = 0;
  for (const count of counts.values()) bitsPerCharacter -= (count / length) * Math.log2(count / length);
  return bitsPerCharacter * length;
}

/** IPv4-mapped IPv6 (RFC 4291 §2.5.5.2), which proxy-addr matches IPv4 clients against. */
const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * The prefix length, as an IPv4 range, of the IPv4 addresses a trusted-proxy entry covers
 * (`undefined` when none): an IPv6 range that holds IPv4-mapped addresses trusts IPv4 clients too.
 */
function ipv4PrefixCovered(address: string, prefix: number, family: 4 | 6): number | undefined {
  if (family === 4) return prefix;
  const range = new BlockList();
  range.addSubnet(address, prefix, 'ipv6');
  if (prefix <= 96) return range.check('::ffff:0.0.0.0', 'ipv6') ? 0 : undefined;
  return IPV4_MAPPED.check(address, 'ipv6') ? prefix - 96 : undefined;
}

/**
 * Widest trusted-proxy range: the largest private block of each family, 10.0.0.0/8 and
 * fc00::/7 (RFC 1918 §3, RFC 4193 §3). Anyone inside a trusted range can set X-Forwarded-For
 * (and so choose the address that logs and rate limits see) and X-Forwarded-Proto/Host.
 */
const WIDEST = { 4: 8, 6: 7 } as const;

function isTooWide(range: string): boolean {
  const [address = '', prefixText] = range.split('/');
  const family = isIP(address);
  if ((family !== 4 && family !== 6) || prefixText === undefined) return false;
  const prefix = Number(prefixText);
  const ipv4Prefix = ipv4PrefixCovered(address, prefix, family);
  return prefix < WIDEST[family] || (ipv4Prefix !== undefined && ipv4Prefix < WIDEST[4]);
}

/** Adds a problem for every production rule `settings` breaks. */
export function checkProduction(settings: Partial<Record<SettingName, unknown>>, problem: Problem): void {
  const given = (name: SettingName) => settings[name] !== undefined;

  if (!given('GATEWAY_ISSUER')) {
    problem(
      'GATEWAY_ISSUER',
      'required when NODE_ENV=production: the public https:// URL of the gateway (e.g. https://login.example.com)',
    );
  } else if (typeof settings.GATEWAY_ISSUER === 'string') {
    const issuer = new URL(settings.GATEWAY_ISSUER);
    // Plain http only where nobody else can reach it (a loopback host): anywhere else, cookies,
    // codes and tokens would cross the network in the clear (RFC 9700 §2.6).
    if (issuer.protocol !== 'https:' && !isLoopbackHost(issuer.hostname)) {
      problem(
        'GATEWAY_ISSUER',
        'must be an https:// URL when NODE_ENV=production (http:// only on a loopback host: 127.0.0.0/8, ::1, localhost)',
      );
    }
  }

  if (!given('GATEWAY_SECRETS')) {
    problem(
      'GATEWAY_SECRETS',
      'required when NODE_ENV=production (comma-separated, each at least 32 random characters, e.g. from `openssl rand -base64 32`)',
    );
  } else if (Array.isArray(settings.GATEWAY_SECRETS)) {
    const secrets = settings.GATEWAY_SECRETS as string[];
    secrets.forEach((secret, index) => {
      if (estimatedSecretBits(secret) >= MIN_SECRET_BITS) return;
      const which = secrets.length === 1 ? 'the secret' : `secret ${index + 1} of ${secrets.length}`;
      problem(
        'GATEWAY_SECRETS',
        `${which} does not look random (too few different characters, or too repetitive: under ${MIN_SECRET_BITS} bits estimated); ` +
          'use a random value, e.g. from `openssl rand -base64 32`',
      );
    });
  }

  if (Array.isArray(settings.GATEWAY_TRUSTED_PROXIES)) {
    for (const range of (settings.GATEWAY_TRUSTED_PROXIES as string[]).filter(isTooWide)) {
      problem(
        'GATEWAY_TRUSTED_PROXIES',
        `${JSON.stringify(range)} is too wide for NODE_ENV=production: anyone in it could forge X-Forwarded-For/-Proto/-Host; ` +
          `name your proxies, in ranges no wider than /${WIDEST[4]} (IPv4, and IPv4-mapped IPv6) or /${WIDEST[6]} (IPv6)`,
      );
    }
  }

  const hasId = given('UPSTREAM_CLIENT_ID');
  const hasSecret = given('UPSTREAM_CLIENT_SECRET');
  if (!hasId && !hasSecret && !given('GATEWAY_UPSTREAMS')) {
    problem(
      'UPSTREAM_CLIENT_ID',
      'required when NODE_ENV=production, or GATEWAY_UPSTREAMS (the development IdP is refused in production)',
    );
    problem('UPSTREAM_CLIENT_SECRET', 'required when NODE_ENV=production');
  }
}
