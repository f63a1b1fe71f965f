/**
 * What a user of bare oidc-provider would write for Redis: the design of oidc-provider's own
 * example (example/adapters/redis.js in panva/node-oidc-provider), in TypeScript on the Redis
 * client this project already ships (node-redis, through @keyv/redis) instead of ioredis. Like
 * the example: consumable models are hashes (`payload`, and `consumed` set by consume), the
 * others plain JSON strings; tokens of a grant are listed under `grant:<id>` (with the example's
 * TTL read before each write), and uid / user code lookups get keys of their own.
 */
import { createClient } from '@keyv/redis';
import type { Adapter, AdapterPayload } from 'oidc-provider';

const grantable = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);
const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const grantKeyFor = (id: string) => `grant:${id}`;
const userCodeKeyFor = (userCode: string) => `userCode:${userCode}`;
const uidKeyFor = (uid: string) => `uid:${uid}`;

/** Connects to `url`; `Adapter` is oidc-provider's `adapter` option (one instance per model name). */
export async function connectExampleRedisAdapter(url: string, prefix = 'oidc:') {
  const client = createClient({ url });
  await client.connect();
  const ExampleRedisAdapter = class implements Adapter {
    private readonly name: string;

    constructor(name: string) {
      this.name = name;
    }

    private key(id: string): string {
      return `${prefix}${this.name}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const key = this.key(id);
      const multi = client.multi();
      if (consumable.has(this.name)) multi.hSet(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = `${prefix}${grantKeyFor(payload.grantId)}`;
        multi.rPush(grantKey, key);
        const ttl = await client.ttl(grantKey);
        if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
      }
      if (payload.userCode) {
        const userCodeKey = `${prefix}${userCodeKeyFor(payload.userCode)}`;
        multi.set(userCodeKey, id);
        multi.expire(userCodeKey, expiresIn);
      }
      if (payload.uid) {
        const uidKey = `${prefix}${uidKeyFor(payload.uid)}`;
        multi.set(uidKey, id);
        multi.expire(uidKey, expiresIn);
      }
      await multi.exec();
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (consumable.has(this.name)) {
        const data = await client.hGetAll(this.key(id));
        if (!data || Object.keys(data).length === 0) return undefined;
        const { payload, ...rest } = data as Record<string, string>;
        return { ...rest, ...JSON.parse(payload ?? '{}') } as AdapterPayload;
      }
      const data = await client.get(this.key(id));
      return data ? (JSON.parse(data) as AdapterPayload) : undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await client.get(`${prefix}${uidKeyFor(uid)}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await client.get(`${prefix}${userCodeKeyFor(userCode)}`);
      return id ? this.find(id) : undefined;
    }

    async destroy(id: string): Promise<void> {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const grantKey = `${prefix}${grantKeyFor(grantId)}`;
      const tokens = await client.lRange(grantKey, 0, -1);
      const multi = client.multi();
      for (const token of tokens) multi.del(token);
      multi.del(grantKey);
      await multi.exec();
    }

    async consume(id: string): Promise<void> {
      await client.hSet(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }
  };
  return { Adapter: ExampleRedisAdapter, close: () => client.close() };
}
