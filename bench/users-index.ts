/**
 * `node bench/users-index.ts [--users 1000000]`: how `users find` and `users list` (and the admin
 * API's same calls) behave with many accounts. A Redis of its own (bench/production-redis.ts) is
 * filled with N accounts written as sign-ins write them (saveAccount: the account, its e-mail
 * index, its bucket of the list index; and its user name), then each lookup is timed: by e-mail,
 * user name and sub (an index each: no scan), and the first and a middle page of the list.
 * Prints the figures; writes nothing (docs/PERFORMANCE.md quotes them).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { openStore } from '../adapters/open-store.ts';
import type { Account } from '../gateway/accounts/account.ts';
import { findAccountBySub, listAccounts, saveAccount } from '../gateway/accounts/account-store.ts';
import { findUsers } from '../gateway/accounts/user-directory.ts';
import { startProductionRedis } from './production-redis.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '1000000' } } });
const total = Number(values.users);
const redis = await startProductionRedis();
const store = await openStore(redis.url);
try {
  const started = Date.now();
  const subs: string[] = [];
  const IN_FLIGHT = 256;
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < total) {
        const n = next++;
        const sub = randomUUID();
        if (n % 1000 === 0) subs.push(sub);
        const account: Account = {
          sub,
          upstream: { iss: 'https://accounts.google.com', sub: String(100000 + n), id: 'google' },
          preferred_username: `user${n}`,
          email: `user${n}@example.com`,
          email_verified: true,
          createdAt: Date.now(),
          updatedAt: Date.now(),
          upstreamCheckedAt: Date.now(),
        };
        await Promise.all([saveAccount(store, account), store.set(`username:user${n}`, sub)]);
      }
    }),
  );
  process.stdout.write(
    `filled ${total.toLocaleString('en-US')} accounts in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );

  const time = async (label: string, runs: number, run: (i: number) => Promise<unknown>) => {
    const latencies: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const t0 = performance.now();
      await run(i);
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    process.stdout.write(`${label}: p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms (${runs} runs)\n`);
  };
  const pick = (i: number) => Math.floor((i * 7919) % total);
  await time('users find <e-mail>', 200, async (i) => {
    const found = await findUsers(store, `user${pick(i)}@example.com`, []);
    if (found.length !== 1) throw new Error('not found by e-mail');
  });
  await time('users find <user name>', 200, async (i) => {
    const found = await findUsers(store, `user${pick(i)}`, []);
    if (found.length !== 1) throw new Error('not found by user name');
  });
  await time('users find <sub>', 200, async (i) => {
    if (!(await findAccountBySub(store, subs[i % subs.length] ?? ''))) throw new Error('not found by sub');
  });
  await time('users list, first page of 50', 20, () => listAccounts(store, { limit: 50 }));
  await time('users list, a page of 50 in the middle', 20, (i) =>
    listAccounts(store, { limit: 50, after: `${100 + (i % 50)}.` }),
  );
} finally {
  await store.close();
  await redis.close();
}
