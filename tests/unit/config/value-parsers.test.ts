import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  minSecretLength,
  parseAddressRanges,
  parseDomains,
  parseInteger,
  parseLifetime,
  parseList,
  parseLogLevel,
  parseLongSecret,
  parseScopes,
  parseSeconds,
  parseSecrets,
  parseSwitch,
  parseText,
} from '../../../config/value-parsers.ts';

const secret = 's'.repeat(minSecretLength);

describe('config value parsers', () => {
  it('reads one trimmed, non-empty text and refuses a list or blanks', () => {
    assert.deepEqual(parseText('  value '), { value: 'value' });
    assert.deepEqual(parseText(8080), { value: '8080' });
    assert.ok('problem' in parseText(' \t\n'));
    assert.ok('problem' in parseText(['a']));
  });

  it('reads whole numbers within bounds only: no signs, fractions, exponents or hex', () => {
    const port = parseInteger(1, 65535, 'must be a port');
    assert.deepEqual(port(' 443 '), { value: 443 });
    assert.deepEqual(port(65535), { value: 65535 });
    for (const bad of ['0', '65536', '-1', '+1', '1.5', '1e3', '0x10', '', ' ', 'NaN', 'Infinity', true]) {
      assert.deepEqual(port(bad), { problem: 'must be a port' }, JSON.stringify(bad));
    }
    assert.ok('problem' in port(1.5), 'a fractional number from the file');
    assert.ok('problem' in port(Number.NaN));
    assert.ok('problem' in parseSeconds('9007199254740993'), 'beyond a safe integer');
  });

  it('allows 0 seconds but not a lifetime of 0', () => {
    assert.deepEqual(parseSeconds('0'), { value: 0 });
    assert.ok('problem' in parseLifetime('0'));
    assert.deepEqual(parseLifetime('1'), { value: 1 });
  });

  it('splits lists, trims items and drops empty ones; refuses booleans and nested values', () => {
    assert.deepEqual(parseList('a, b,,c ,'), { value: ['a', 'b', 'c'] });
    assert.deepEqual(parseList(['x', 2, ' ']), { value: ['x', '2'] });
    assert.deepEqual(parseList('a b', /\s+/), { value: ['a', 'b'] });
    assert.ok('problem' in parseList(true));
    assert.ok('problem' in parseList([{ a: 1 }] as unknown as string[]));
    assert.ok('problem' in parseList([['nested']] as unknown as string[]));
  });

  it('refuses a short secret without ever quoting it', () => {
    assert.deepEqual(parseSecrets(`${secret},${secret}x`), { value: [secret, `${secret}x`] });
    const short = parseSecrets(`${secret}, tooshort-secret`);
    assert.ok('problem' in short);
    assert.match(short.problem, /secret 2 of 2/);
    assert.ok(!short.problem.includes('tooshort') && short.got === undefined);
    assert.ok('problem' in parseSecrets(' , '), 'no secret at all');
    assert.ok('problem' in parseSecrets('s'.repeat(minSecretLength - 1)));
    assert.deepEqual(parseLongSecret(`  ${secret}  `), { value: secret }, 'surrounding spaces do not count');
    const longShort = parseLongSecret(` ${'s'.repeat(minSecretLength - 1)} `);
    assert.ok('problem' in longShort && !longShort.problem.includes('sss'));
  });

  it('requires openid among the upstream scopes, split on spaces or commas', () => {
    assert.deepEqual(parseScopes('openid email,profile'), { value: ['openid', 'email', 'profile'] });
    assert.ok('problem' in parseScopes('email profile'));
    assert.ok('problem' in parseScopes('openidx email'), 'a scope that merely starts with openid');
  });

  it('reads switches case-insensitively and refuses anything else', () => {
    for (const on of ['on', 'TRUE', ' yes ', '1', true]) assert.deepEqual(parseSwitch(on), { value: true });
    for (const off of ['off', 'False', 'no', '0', false]) assert.deepEqual(parseSwitch(off), { value: false });
    for (const bad of ['', 'enabled', '2', 'onn']) assert.ok('problem' in parseSwitch(bad), bad);
  });

  it('reads a log level case-insensitively', () => {
    assert.deepEqual(parseLogLevel(' WARN '), { value: 'warn' });
    assert.ok('problem' in parseLogLevel('verbose'));
  });

  it('reads domain names lower-cased, and refuses malformed names', () => {
    assert.deepEqual(parseDomains('plain')('App.Example.COM, b.test'), { value: ['app.example.com', 'b.test'] });
    for (const bad of ['.example.com', 'example.com:443', '-bad.example', 'a..b', 'x_y.test', 'ex ample.com']) {
      assert.ok('problem' in parseDomains('plain')(bad), bad);
    }
    assert.ok('problem' in parseDomains('plain')(`${'a'.repeat(64)}.test`), 'a label over 63 characters');
    assert.deepEqual(parseDomains('cookie')('.Example.com'), { value: ['.example.com'] });
    assert.ok('problem' in parseDomains('cookie')('example.com:443'), 'a cookie domain has no port');
    assert.deepEqual(parseDomains('redirect')('.example.com:8443'), { value: ['.example.com:8443'] });
    for (const bad of [
      'example.com:',
      'example.com:123456',
      'https://example.com',
      'example.com/path',
      'user@example.com',
    ]) {
      assert.ok('problem' in parseDomains('redirect')(bad), bad);
    }
  });

  it('refuses a public suffix as a cookie or redirect domain, with or without dot or port', () => {
    for (const suffix of ['.com', 'co.uk', '.CO.UK', '.github.io', 'com:443']) {
      const kind = suffix.includes(':') ? 'redirect' : 'cookie';
      const parsed = parseDomains(kind)(suffix);
      assert.ok('problem' in parsed && /public suffix/.test(parsed.problem), suffix);
    }
    assert.ok('problem' in parseDomains('redirect')('.example.com, .com'), 'one bad item refuses the list');
    assert.deepEqual(parseDomains('cookie')('.example.co.uk'), { value: ['.example.co.uk'] });
    assert.deepEqual(parseDomains('cookie')('.localhost'), { value: ['.localhost'] }, 'not on the list');
    assert.deepEqual(parseDomains('plain')('com'), { value: ['com'] }, 'a plain name may be a suffix');
  });

  it('reads IP addresses and CIDR ranges, refusing bad prefixes and host names', () => {
    assert.deepEqual(parseAddressRanges('10.0.0.0/8, ::1, fd00::/8, 192.168.1.1/32, ::/128'), {
      value: ['10.0.0.0/8', '::1', 'fd00::/8', '192.168.1.1/32', '::/128'],
    });
    for (const bad of [
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      '10.0.0.0/-1',
      '10.0.0.0/ 8',
      'localhost',
      '10.0.0',
      '1.2.3.4/0x8',
    ]) {
      assert.ok('problem' in parseAddressRanges(bad), bad);
    }
  });
});
