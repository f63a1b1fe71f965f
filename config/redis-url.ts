/**
 * The Redis store URL, parsed and checked without loading any Redis client, so configuration can
 * validate `GATEWAY_STORE` at start-up and the store can connect from the same reading:
 *
 * - `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS): one server;
 * - `redis+cluster://[user:pass@]host:port,host:port,…`, `rediss+cluster://…` (TLS): a Redis
 *   Cluster, given by any of its nodes (the client learns the others from them). A cluster has
 *   only database 0, so a `/db` other than `/0` is refused.
 *
 * User and password are percent-decoded; error messages never echo the URL (it may carry a
 * password), and `where` names scheme, hosts and db only.
 */

/** Where the store connects to, parsed from its URL. */
export interface RedisTarget {
  cluster: boolean;
  tls: boolean;
  nodes: Array<{ host: string; port: number }>;
  username: string | undefined;
  password: string | undefined;
  /** The database number (`/2`); 0 when none is given, and always 0 on a cluster. */
  database: number;
  /** For messages: scheme, hosts and db, never the user or password. */
  where: string;
}

const URL_SHAPES = 'redis://[user:pass@]host:port[/db], rediss://…, or redis+cluster://[user:pass@]host:port,host:port';

/** `host:port` or `[v6]:port` (port defaults to 6379). */
function parseHostPort(text: string, index: number): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  const port = Number(match?.[2] ?? 6379);
  // The node by its position, not its text: a mistyped URL may have a password there.
  if (!match?.[1] || port < 1 || port > 65_535)
    throw new Error(`node ${index + 1} of the Redis Cluster store URL is not host:port`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/** Parses a store URL; errors never echo the URL (it may carry a password). */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis+cluster' || scheme === 'rediss+cluster') {
    // The WHATWG URL parser refuses a host list, so the authority is split by hand.
    const match = /^[a-z+]+:\/\/(?:([^@/]*)@)?([^/?#@]+)(\/[^?#]*)?$/i.exec(url);
    if (!match?.[2]) throw new Error(`the Redis store URL is not valid (expected ${URL_SHAPES})`);
    const [, userinfo, hostList, path] = match;
    if (path !== undefined && path !== '/' && path !== '/0') {
      throw new Error('a Redis Cluster has only database 0: drop the /db from the redis+cluster:// URL');
    }
    const colon = userinfo?.indexOf(':') ?? -1;
    const username = userinfo ? decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) : undefined;
    const password = userinfo && colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) : undefined;
    const nodes = hostList
      .split(',')
      .filter(Boolean)
      .map((node, index) => parseHostPort(node, index));
    if (nodes.length === 0) throw new Error(`the Redis store URL names no node (expected ${URL_SHAPES})`);
    const tls = scheme === 'rediss+cluster';
    return {
      cluster: true,
      tls,
      nodes,
      username: username || undefined,
      password,
      database: 0,
      where: `${scheme}://${nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',')}`,
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`the Redis store URL is not a valid URL (expected ${URL_SHAPES})`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(
      `the Redis store URL must start with redis://, rediss:// or redis+cluster://, not ${parsed.protocol}//`,
    );
  }
  if (parsed.hostname === '') throw new Error(`the Redis store URL names no host (expected ${URL_SHAPES})`);
  const database = parsed.pathname === '/' || parsed.pathname === '' ? 0 : Number(parsed.pathname.slice(1));
  // The Redis client refuses any other path too, but only once it connects.
  if (!Number.isInteger(database) || database < 0)
    throw new Error(`the path of the Redis store URL must be a database number (expected ${URL_SHAPES})`);
  return {
    cluster: false,
    tls: parsed.protocol === 'rediss:',
    nodes: [{ host: parsed.hostname, port: Number(parsed.port || 6379) }],
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database,
    where: `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`,
  };
}
