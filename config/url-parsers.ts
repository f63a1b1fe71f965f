import { isIPv4 } from 'node:net';
import { parseRedisUrl } from './redis-url.ts';
import type { Parsed, RawValue } from './value-parsers.ts';
import { parseText } from './value-parsers.ts';

/**
 * The gateway's issuer: an absolute http(s) URL without query or fragment, as OIDC Discovery 1.0
 * §3 requires of `issuer`; a trailing slash is dropped so that `${issuer}/path` has one slash.
 */
export function parseGatewayIssuer(raw: RawValue): Parsed<string> {
  const url = parseUrl(raw);
  if (!(url instanceof URL)) return url;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: 'must be an http:// or https:// URL' };
  const shape = checkIssuerShape(url);
  if (shape !== undefined) return shape;
  return { value: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

/**
 * The upstream issuer, kept exactly as given: discovery compares it byte for byte with the
 * `issuer` the IdP returns (OIDC Discovery 1.0 §4.3). Plain http is allowed only on loopback,
 * where nobody else can read the traffic (tests, local fakes).
 */
export function parseUpstreamIssuer(raw: RawValue): Parsed<string> {
  const url = parseUrl(raw);
  if (!(url instanceof URL)) return url;
  const local = url.protocol === 'http:' && isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !local) {
    return { problem: 'must be an https:// URL (http:// only on a loopback host: 127.0.0.0/8, ::1, localhost)' };
  }
  return checkIssuerShape(url) ?? { value: String(raw).trim() };
}

/** True for `localhost`, 127.0.0.0/8 and ::1 (a URL's hostname keeps IPv6 in brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

const storeForms =
  'must be memory://, sqlite://PATH, redis://[user:pass@]host:port[/db], rediss://…, or redis+cluster://host:port,host:port';

/**
 * The store URL, kept as given. A Redis password is masked in the problem line, since this
 * setting is otherwise not secret.
 */
export function parseStoreUrl(raw: RawValue): Parsed<string> {
  const text = parseText(raw);
  if (!('value' in text)) return text;
  const store = text.value;
  if (store === 'memory://') return { value: store };
  if (store.startsWith('sqlite://')) {
    return store.length > 'sqlite://'.length
      ? { value: store }
      : { problem: 'sqlite:// needs a file path, e.g. sqlite://./data/gateway.sqlite' };
  }
  if (/^rediss?\+cluster:\/\//.test(store)) {
    // A host list is not a WHATWG URL: the store's own parser checks it (and never echoes a password).
    try {
      parseRedisUrl(store);
      return { value: store };
    } catch (error) {
      return { problem: (error as Error).message, got: JSON.stringify(maskPassword(store)) };
    }
  }
  if (!/^rediss?:\/\//.test(store)) return { problem: storeForms };
  const url = URL.canParse(store) ? new URL(store) : undefined;
  const got = JSON.stringify(maskPassword(store));
  if (url === undefined || url.hostname === '' || url.search !== '' || url.hash !== '') {
    return { problem: storeForms, got };
  }
  if (!/^\/?(\d+)?$/.test(url.pathname))
    return { problem: 'the Redis database must be a number, as in redis://host:6379/0', got };
  return { value: store };
}

function maskPassword(store: string): string {
  return store.replace(/^(rediss?(?:\+cluster)?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

function parseUrl(raw: RawValue): Parsed<string> | URL {
  const text = parseText(raw);
  if (!('value' in text)) return text;
  return URL.canParse(text.value) ? new URL(text.value) : { problem: 'must be an absolute URL' };
}

function checkIssuerShape(url: URL): Parsed<string> | undefined {
  if (url.search !== '' || url.hash !== '') return { problem: 'must not have a query or fragment' };
  if (url.username === '' && url.password === '') return undefined;
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  return {
    problem: 'must not contain a user name or password',
    got: JSON.stringify(`${bare.href} (credentials hidden)`),
  };
}

/** An OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`): http or https, no credentials. */
export function parseOtlpEndpoint(raw: RawValue): Parsed<string> {
  const text = String(raw).trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'must be a URL such as http://collector:4318/v1/traces' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: 'must be an http or https URL' };
  if (url.username || url.password) return { problem: 'must not carry credentials', got: 'a URL with credentials' };
  return { value: url.href };
}
