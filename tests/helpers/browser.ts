/**
 * A browser-like HTTP client for tests: a cookie jar (RFC 6265: host-only cookies, path
 * matching, expiry; ports do not separate cookies, as in real browsers) and manual redirects, so
 * a test can walk a sign-in one hop at a time and look at every answer. `Secure` is not enforced
 * (tests run over plain http on loopback).
 */
import { Agent, fetch as undiciFetch } from 'undici';

interface StoredCookie {
  name: string;
  value: string;
  host: string;
  domain: string | undefined;
  path: string;
  expires: number | undefined;
}

export interface Browser {
  /** One request, no redirects followed; cookies sent and stored. */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
  /** Follows redirects until `stop(url)` is true for a Location, or a non-redirect answer comes. */
  follow(
    url: string | URL,
    stop?: (location: URL) => boolean,
  ): Promise<{ response: Response; url: URL; location?: URL }>;
  cookies(url: string | URL): StoredCookie[];
  setCookie(url: string | URL, header: string): void;
  clear(): void;
}

function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function domainMatches(host: string, cookie: StoredCookie): boolean {
  if (cookie.domain === undefined) return host === cookie.host;
  return host === cookie.domain || host.endsWith(`.${cookie.domain}`);
}

/** Resolves test host names (app.a.test, app.b.example) to loopback, as /etc/hosts would. */
export function loopbackDispatcher(): Agent {
  return new Agent({
    connect: {
      lookup: (_hostname, options, callback) => {
        if ((options as { all?: boolean }).all)
          (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
            { address: '127.0.0.1', family: 4 },
          ]);
        else (callback as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4);
      },
    },
  });
}

export function createBrowser(
  options: { userAgent?: string; dispatcher?: Agent; acceptLanguage?: string } = {},
): Browser {
  let jar: StoredCookie[] = [];

  function store(url: URL, header: string) {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      host: url.hostname,
      domain: undefined,
      path: defaultPath(url.pathname),
      expires: undefined,
    };
    for (const attribute of attributes) {
      const [rawKey = '', ...rest] = attribute.split('=');
      const key = rawKey.trim().toLowerCase();
      const value = rest.join('=').trim();
      if (key === 'path' && value.startsWith('/')) cookie.path = value;
      if (key === 'domain' && value) cookie.domain = value.replace(/^\./, '').toLowerCase();
      if (key === 'max-age') cookie.expires = Date.now() + Number(value) * 1000;
      if (key === 'expires' && cookie.expires === undefined) cookie.expires = Date.parse(value);
    }
    jar = jar.filter(
      (c) =>
        !(c.name === cookie.name && c.path === cookie.path && (c.domain ?? c.host) === (cookie.domain ?? cookie.host)),
    );
    if (cookie.expires === undefined || cookie.expires > Date.now()) jar.push(cookie);
  }

  function cookies(target: string | URL): StoredCookie[] {
    const url = new URL(target);
    const now = Date.now();
    jar = jar.filter((c) => c.expires === undefined || c.expires > now);
    return jar
      .filter((c) => domainMatches(url.hostname, c) && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length);
  }

  const browser: Browser = {
    async fetch(target, init = {}) {
      const url = new URL(target);
      const headers = new Headers(init.headers);
      const sending = cookies(url);
      if (sending.length > 0) headers.set('cookie', sending.map((c) => `${c.name}=${c.value}`).join('; '));
      if (options.userAgent) headers.set('user-agent', options.userAgent);
      if (!headers.has('accept')) headers.set('accept', 'text/html,application/xhtml+xml');
      // Fetch Metadata, as a browser sends it for a navigation the person started (a typed URL or
      // a bookmark); a test that plays another site's link says `cross-site` itself.
      if (!headers.has('sec-fetch-site')) headers.set('sec-fetch-site', 'none');
      if (options.acceptLanguage && !headers.has('accept-language'))
        headers.set('accept-language', options.acceptLanguage);
      const response = options.dispatcher
        ? ((await undiciFetch(url, {
            ...(init as object),
            headers: Object.fromEntries(headers),
            redirect: 'manual',
            dispatcher: options.dispatcher,
          })) as unknown as Response)
        : await fetch(url, { ...init, headers, redirect: 'manual' });
      for (const header of response.headers.getSetCookie()) store(url, header);
      return response;
    },
    async follow(target, stop = () => false) {
      let url = new URL(target);
      for (let hop = 0; hop < 20; hop += 1) {
        const response = await browser.fetch(url);
        const location = response.headers.get('location');
        if (response.status < 300 || response.status >= 400 || !location) return { response, url };
        const next = new URL(location, url);
        if (stop(next)) {
          await response.body?.cancel();
          return { response, url, location: next };
        }
        await response.body?.cancel();
        url = next;
      }
      throw new Error(`too many redirects from ${String(target)}`);
    },
    cookies,
    setCookie(target, header) {
      store(new URL(target), header);
    },
    clear() {
      jar = [];
    },
  };
  return browser;
}
