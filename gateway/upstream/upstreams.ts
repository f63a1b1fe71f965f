/**
 * The identity providers users sign in at, by the operator's id (GATEWAY_UPSTREAMS, or the one of
 * the UPSTREAM_* shorthand, or the development IdP). Each has its own client, policy and token
 * vault; an account belongs to the one it signed in with.
 */
import type { UpstreamConfig } from '../../config/config-type.ts';
import type { Account } from '../accounts/account.ts';
import type { IdentityPolicy } from './check-identity.ts';
import type { UpstreamClient } from './upstream-client.ts';
import type { UpstreamTokenVault } from './upstream-tokens.ts';
import type { GoogleDirectory } from './google-directory.ts';

export interface Upstream {
  config: UpstreamConfig;
  client: UpstreamClient;
  /** The users' tokens at this upstream, per account (an account linked to several has tokens at each). */
  vault: UpstreamTokenVault;
  policy: IdentityPolicy;
  /** Where the user's groups come from when no claim carries them (Google's Directory API). */
  groupSource?: GoogleDirectory;
}

export interface Upstreams {
  /** In the operator's order: the sign-in page lists them so. */
  readonly list: readonly Upstream[];
  /** The first of them (the only one, with the UPSTREAM_* shorthand or in dev mode). */
  readonly first: Upstream;
  byId(id: string): Upstream | undefined;
  /**
   * The upstream an account signed in with: by its id; an account made before upstreams had ids,
   * or whose upstream's id was renamed, by its issuer (the namespace of its `sub`), whose policy
   * then applies at its next re-check. Undefined when no upstream has that issuer any more.
   */
  ofAccount(account: Pick<Account, 'upstream'>): Upstream | undefined;
}

export function createUpstreams(list: readonly Upstream[]): Upstreams {
  const [first] = list;
  if (!first) throw new Error('at least one upstream is needed');
  const byId = new Map(list.map((upstream) => [upstream.config.id, upstream]));
  return {
    list,
    first,
    byId: (id) => byId.get(id),
    ofAccount(account) {
      const { id, iss } = account.upstream;
      return (id === undefined ? undefined : byId.get(id)) ?? list.find((upstream) => upstream.config.issuer === iss);
    },
  };
}
