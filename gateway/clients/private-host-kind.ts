/**
 * What kind of non-public address a host names, if any: the hosts a client must not point the
 * gateway at (its `jwks_uri`, back-channel logout URI), since the gateway would call them from
 * inside the operator's network (server-side request forgery).
 *
 * Used twice: at registration on the URL's literal host, and when the gateway connects, on every
 * address a name resolves to (gateway/provider/outbound-fetch.ts), so a public name that
 * resolves to 127.0.0.1 is stopped before any connection is made. IPv4-mapped IPv6
 * (`[::ffff:127.0.0.1]`) matches the IPv4 ranges (node:net BlockList does that); the IPv6 forms
 * that carry an IPv4 address inside (NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, the deprecated
 * IPv4-compatible `::a.b.c.d`) are judged by that address; and the URL parser has already turned
 * other spellings of an address (`127.1`, `2130706433`, `0x7f.0.0.1`) into the dotted form.
 */
import { BlockList, isIP } from 'node:net';

export type PrivateHostKind = 'loopback' | 'private' | 'link-local' | 'unspecified' | 'reserved';

function ranges(list: Array<[string, number]>): BlockList {
  const block = new BlockList();
  for (const [address, prefix] of list) block.addSubnet(address, prefix, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  return block;
}

const KINDS: Array<[PrivateHostKind, BlockList]> = [
  // RFC 1122 §3.2.1.3; RFC 4291 §2.5.3
  [
    'loopback',
    ranges([
      ['127.0.0.0', 8],
      ['::1', 128],
    ]),
  ],
  // RFC 1122 §3.2.1.3 ("this host on this network"), RFC 4291 §2.5.2: most stacks connect to the host itself
  [
    'unspecified',
    ranges([
      ['0.0.0.0', 8],
      ['::', 128],
    ]),
  ],
  // RFC 1918 §3, RFC 6598 (shared address space behind carrier-grade NAT), RFC 4193 (unique local)
  [
    'private',
    ranges([
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['100.64.0.0', 10],
      ['fc00::', 7],
    ]),
  ],
  // RFC 3927 (with the cloud metadata services at 169.254.169.254), RFC 4291 §2.5.6
  [
    'link-local',
    ranges([
      ['169.254.0.0', 16],
      ['fe80::', 10],
    ]),
  ],
  // RFC 6890: IETF protocol assignments, benchmarking, multicast, reserved, broadcast; IPv6
  // multicast and the site-local range some stacks still route
  [
    'reserved',
    ranges([
      ['192.0.0.0', 24],
      ['198.18.0.0', 15],
      ['224.0.0.0', 4],
      ['240.0.0.0', 4],
      ['ff00::', 8],
      ['fec0::', 10],
    ]),
  ],
];

/** The IPv4 address an IPv6 address carries inside (NAT64, 6to4, IPv4-compatible), if it is of such a form. */
function embeddedIpv4(address: string): string | undefined {
  const words = expandIpv6(address);
  if (words === undefined) return undefined;
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  // RFC 6052 §2.1, the well-known NAT64 prefix 64:ff9b::/96
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0))
    return v4(words[6] ?? 0, words[7] ?? 0);
  // RFC 3056 §2, 6to4: 2002:AABB:CCDD::/48
  if (words[0] === 0x2002) return v4(words[1] ?? 0, words[2] ?? 0);
  // RFC 4291 §2.5.5.1, IPv4-compatible (deprecated): ::a.b.c.d
  if (words.slice(0, 6).every((w) => w === 0) && ((words[6] ?? 0) !== 0 || (words[7] ?? 0) > 1))
    return v4(words[6] ?? 0, words[7] ?? 0);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted IPv4 part included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail, ...more] = text.split('::');
  if (more.length > 0) return undefined;
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return undefined;
  const words = [...left, ...Array.from({ length: tail === undefined ? 0 : missing }, () => '0'), ...right].map((w) =>
    Number.parseInt(w, 16),
  );
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

/** The kind of address `hostname` (a URL's `hostname`, IPv6 in brackets, or an address) names, or undefined. */
export function privateHostKind(hostname: string): PrivateHostKind | undefined {
  const host = hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  // RFC 6761 §6.3: localhost and every name below it are loopback.
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  const family = isIP(host);
  if (family === 0) return undefined;
  const inside = family === 6 ? embeddedIpv4(host) : undefined;
  if (inside !== undefined) return privateHostKind(inside);
  return KINDS.find(([, list]) => list.check(host, family === 4 ? 'ipv4' : 'ipv6'))?.[0];
}
