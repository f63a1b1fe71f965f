/**
 * `GATEWAY_OUTBOUND_PRIVATE_HOSTS`: the loopback or private services the gateway may call although
 * its SSRF protection refuses such addresses (a client's `jwks_uri`, back-channel logout).
 *
 * Each entry names one service as `host:port` (IPv6 as `[::1]:8443`): a host alone would open
 * every port of that machine (its Redis, its admin consoles) to whoever can register a client,
 * and `*` would switch the protection off altogether. The registration policy
 * (gateway/clients/) and the outbound fetch (gateway/provider/) compare a URL with the list
 * through {@link outboundHostOf}, so both read an entry the same way.
 */
import type { Parsed, RawValue } from './value-parsers.ts';
import { parseList } from './value-parsers.ts';

const ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]/@\s]+):(\d{1,5})$/;
const DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const form = 'name each service as host:port (e.g. 127.0.0.1:8000, app.internal:8443, [::1]:9000)';

/** One entry, normalised as a URL's `host` would be (lower case, canonical IP), or the problem. */
function parseEntry(entry: string): Parsed<string> {
  const got = JSON.stringify(entry);
  if (entry.includes('*'))
    return { problem: `a wildcard would switch SSRF protection off for every host it matches; ${form}`, got };
  const match = ENTRY.exec(entry);
  if (match === null) return { problem: `an entry without a port would open every port of that host; ${form}`, got };
  const [, host = '', portText = ''] = match;
  const port = Number(portText);
  if (port < 1 || port > 65535) return { problem: 'the port must be between 1 and 65535', got };
  // The WHATWG URL parser gives the same canonical form as the URLs later compared with it
  // (127.1 → 127.0.0.1, [::FFFF:7F00:1] → [::ffff:7f00:1]).
  const hostname = URL.parse(`http://${host}/`)?.hostname;
  if (hostname === undefined || (!hostname.startsWith('[') && !/^[\d.]+$/.test(hostname) && !DOMAIN.test(hostname))) {
    return { problem: `each entry must be a host name or IP address with a port; ${form}`, got };
  }
  return { value: `${hostname}:${port}` };
}

/** The comma-separated `host:port` list; the first bad entry is the problem. */
export function parseOutboundHosts(raw: RawValue): Parsed<string[]> {
  const list = parseList(raw);
  if (!('value' in list)) return list;
  const hosts: string[] = [];
  for (const item of list.value) {
    const entry = parseEntry(item);
    if (!('value' in entry)) return entry;
    hosts.push(entry.value);
  }
  return { value: hosts };
}

/** The `host:port` a URL connects to, the port made explicit (80 for http, 443 for https). */
export function outboundHostOf(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return `${url.hostname}:${port}`;
}
