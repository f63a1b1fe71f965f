/**
 * What kind of non-public address a URL's host literally names, if any: the hosts a client must
 * not point the gateway at (its `jwks_uri`, back-channel logout URI), since the gateway would
 * call them from inside the operator's network (server-side request forgery).
 *
 * Only literals are judged here, at registration: a public name that resolves to such an address
 * is stopped when the gateway connects (oidc-provider's dispatcher, see
 * gateway/provider/outbound-fetch.ts). IPv4-mapped IPv6 (`[::ffff:127.0.0.1]`) matches the IPv4
 * ranges (node:net BlockList does that), and the URL parser has already turned other spellings
 * of an address (`127.1`, `2130706433`, `0x7f.0.0.1`) into the dotted form.
 */
import { BlockList, isIP } from 'node:net';

export type PrivateHostKind = 'loopback' | 'private' | 'link-local' | 'unspecified';

function ranges(list: Array<[string, number]>): BlockList {
  const block = new BlockList();
  for (const [address, prefix] of list) block.addSubnet(address, prefix, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  return block;
}

const KINDS: Array<[PrivateHostKind, BlockList]> = [
  // RFC 1122 §3.2.1.3; RFC 4291 §2.5.3
  ['loopback', ranges([['127.0.0.0', 8], ['::1', 128]])],
  // RFC 1122 §3.2.1.3 ("this host on this network"), RFC 4291 §2.5.2: most stacks connect to the host itself
  ['unspecified', ranges([['0.0.0.0', 8], ['::', 128]])],
  // RFC 1918 §3, RFC 6598 (shared address space behind carrier-grade NAT), RFC 4193 (unique local)
  ['private', ranges([['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['fc00::', 7]])],
  // RFC 3927 (with the cloud metadata services at 169.254.169.254), RFC 4291 §2.5.6
  ['link-local', ranges([['169.254.0.0', 16], ['fe80::', 10]])],
];

/** The kind of address `hostname` (a URL's `hostname`, IPv6 in brackets) names, or undefined. */
export function privateHostKind(hostname: string): PrivateHostKind | undefined {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  // RFC 6761 §6.3: localhost and every name below it are loopback.
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  const family = isIP(host);
  if (family === 0) return undefined;
  return KINDS.find(([, list]) => list.check(host, family === 4 ? 'ipv4' : 'ipv6'))?.[0];
}
