import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { privateHostKind } from '../../../../gateway/clients/private-host-kind.ts';

function kinds(hosts: string[]): Record<string, string | undefined> {
  return Object.fromEntries(hosts.map((host) => [host, privateHostKind(host)]));
}

describe('which hosts the gateway must not be pointed at', () => {
  it('names loopback, including every name under localhost (RFC 6761 §6.3)', () => {
    for (const host of ['127.0.0.1', '127.255.255.254', '[::1]', '::1', 'localhost', 'LOCALHOST.', 'app.localhost']) {
      assert.equal(privateHostKind(host), 'loopback', host);
    }
  });

  it('names the private, shared, link-local, unspecified and reserved ranges at their edges', () => {
    assert.deepEqual(
      kinds([
        '10.0.0.0',
        '10.255.255.255',
        '172.16.0.1',
        '172.31.255.255',
        '192.168.0.1',
        '100.64.0.1',
        '100.127.255.255',
        '[fd00::1]',
        '[fc00::]',
      ]),
      Object.fromEntries(
        [
          '10.0.0.0',
          '10.255.255.255',
          '172.16.0.1',
          '172.31.255.255',
          '192.168.0.1',
          '100.64.0.1',
          '100.127.255.255',
          '[fd00::1]',
          '[fc00::]',
        ].map((host) => [host, 'private']),
      ),
    );
    assert.equal(privateHostKind('169.254.169.254'), 'link-local', 'the cloud metadata service');
    assert.equal(privateHostKind('[fe80::1]'), 'link-local');
    assert.equal(privateHostKind('[febf::1]'), 'link-local');
    assert.equal(privateHostKind('0.0.0.0'), 'unspecified');
    assert.equal(privateHostKind('[::]'), 'unspecified');
    for (const host of [
      '224.0.0.1',
      '255.255.255.255',
      '192.0.0.1',
      '198.18.0.1',
      '198.19.255.255',
      '[ff02::1]',
      '[fec0::1]',
    ]) {
      assert.equal(privateHostKind(host), 'reserved', host);
    }
  });

  it('leaves public addresses and names alone, just outside each range', () => {
    assert.deepEqual(
      kinds([
        '8.8.8.8',
        '172.15.255.255',
        '172.32.0.1',
        '100.63.255.255',
        '100.128.0.1',
        '198.20.0.1',
        '169.255.0.1',
        '[2001:4860:4860::8888]',
        'example.com',
      ]),
      {
        '8.8.8.8': undefined,
        '172.15.255.255': undefined,
        '172.32.0.1': undefined,
        '100.63.255.255': undefined,
        '100.128.0.1': undefined,
        '198.20.0.1': undefined,
        '169.255.0.1': undefined,
        '[2001:4860:4860::8888]': undefined,
        'example.com': undefined,
      },
    );
    // A name is judged when it resolves (outbound-fetch.ts), not by how it reads.
    assert.equal(privateHostKind('127.0.0.1.nip.io'), undefined);
    assert.equal(privateHostKind('localhost.evil.com'), undefined);
  });

  it('sees through IPv6 forms that carry an IPv4 address', () => {
    assert.deepEqual(
      kinds([
        '[::ffff:127.0.0.1]',
        '[::ffff:7f00:1]',
        '[0:0:0:0:0:ffff:7f00:1]',
        '[::ffff:a00:1]',
        '[::ffff:169.254.169.254]',
        '[64:ff9b::7f00:1]',
        '[64:ff9b::a9fe:a9fe]',
        '[2002:7f00:1::]',
        '[2002:a00:1::1]',
        '[::7f00:1]',
        '[::127.0.0.1]',
        '[::a00:1]',
      ]),
      {
        '[::ffff:127.0.0.1]': 'loopback',
        '[::ffff:7f00:1]': 'loopback',
        '[0:0:0:0:0:ffff:7f00:1]': 'loopback',
        '[::ffff:a00:1]': 'private',
        '[::ffff:169.254.169.254]': 'link-local',
        '[64:ff9b::7f00:1]': 'loopback',
        '[64:ff9b::a9fe:a9fe]': 'link-local',
        '[2002:7f00:1::]': 'loopback',
        '[2002:a00:1::1]': 'private',
        '[::7f00:1]': 'loopback',
        '[::127.0.0.1]': 'loopback',
        '[::a00:1]': 'private',
      },
    );
    assert.equal(privateHostKind('[64:ff9b::808:808]'), undefined, 'NAT64 of a public address');
    assert.equal(privateHostKind('[2002:808:808::]'), undefined, '6to4 of a public address');
  });
});
