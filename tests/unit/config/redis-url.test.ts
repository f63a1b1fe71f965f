import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRedisUrl } from '../../../config/redis-url.ts';

describe('the Redis store URL', () => {
  it('reads one server, with TLS, credentials percent-decoded and a default port', () => {
    assert.deepEqual(parseRedisUrl('rediss://us%40er:p%3Ass@redis.internal/2'), {
      cluster: false,
      tls: true,
      nodes: [{ host: 'redis.internal', port: 6379 }],
      username: 'us@er',
      password: 'p:ss',
      database: 2,
      where: 'rediss://redis.internal/2',
    });
    const plain = parseRedisUrl('redis://127.0.0.1:6380');
    assert.equal(plain.tls, false);
    assert.deepEqual(plain.nodes, [{ host: '127.0.0.1', port: 6380 }]);
    assert.equal(plain.username, undefined);
    assert.equal(plain.password, undefined);
    assert.equal(plain.database, 0);
  });

  it('refuses a path that is no database number, without echoing the URL', () => {
    for (const url of ['redis://u:s3cret@h:1/abc', 'redis://u:s3cret@h:1/-1', 'redis://u:s3cret@h:1/1.5']) {
      assert.throws(
        () => parseRedisUrl(url),
        (error: Error) => /must be a database number/.test(error.message) && !error.message.includes('s3cret'),
      );
    }
  });

  it('reads a cluster from its node list, IPv6 included, and names no credential in `where`', () => {
    const target = parseRedisUrl('rediss+cluster://:s3cret@a.internal:7000,[::1]:7001,b.internal/0');
    assert.equal(target.cluster, true);
    assert.equal(target.tls, true);
    assert.deepEqual(target.nodes, [
      { host: 'a.internal', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'b.internal', port: 6379 },
    ]);
    assert.equal(target.username, undefined, 'an empty user name is none');
    assert.equal(target.password, 's3cret');
    assert.equal(target.where, 'rediss+cluster://a.internal:7000,[::1]:7001,b.internal:6379');
    assert.ok(!parseRedisUrl('redis://u:s3cret@h:1/0').where.includes('s3cret'));
  });

  it('refuses a cluster database other than 0, bad ports and empty node lists', () => {
    assert.throws(() => parseRedisUrl('redis+cluster://a:7000/1'), /only database 0/);
    assert.throws(() => parseRedisUrl('redis+cluster://a:0'), /node 1/);
    assert.throws(() => parseRedisUrl('redis+cluster://a:7000,b:65536'), /node 2/);
    assert.throws(() => parseRedisUrl('redis+cluster://,,'), /names no node/);
    assert.throws(() => parseRedisUrl('redis+cluster:///0'));
  });

  it('never echoes the URL (it may carry a password) in an error', () => {
    for (const url of [
      'redis+cluster://u:hunter2@a:7000/3',
      'redis+cluster://u:hunter2@a:bad',
      'redis+cluster://hunter2:x@a:99999',
      'redis://u:hunter2@[bad',
      'http://u:hunter2@host',
    ]) {
      assert.throws(
        () => parseRedisUrl(url),
        (error: Error) => !error.message.includes('hunter2'),
        url,
      );
    }
  });

  it('refuses other schemes and a URL without a host', () => {
    assert.throws(() => parseRedisUrl('http://host:6379'), /must start with redis/);
    assert.throws(() => parseRedisUrl('redis://'), /no host|not a valid URL/);
    assert.throws(() => parseRedisUrl('not a url'), /not a valid URL/);
  });
});
