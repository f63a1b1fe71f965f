import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Config } from '../config/config-type.ts';
import { loadConfig, type LoadResult } from '../config/load-config.ts';
import { DEFAULT_RESERVED_USERNAMES } from '../config/reserved-usernames.ts';
import { settingsShape } from '../config/schema.ts';
import { formatConfigCheck, renderSettingsReference } from '../config/settings-reference.ts';

const dir = mkdtempSync(join(tmpdir(), 'gateway-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const secretA = 'a'.repeat(32);
const secretB = 'b'.repeat(40);

/** Writes a config file into the test's temporary folder and returns its path. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function ok(env: NodeJS.ProcessEnv): Config {
  const result = loadConfig(env);
  assert.ok(result.ok, `expected no problems, got:\n${result.ok ? '' : result.problems.join('\n')}`);
  return result.config;
}

function problems(env: NodeJS.ProcessEnv): string[] {
  const result = loadConfig(env);
  assert.equal(result.ok, false, `expected problems for ${JSON.stringify(env)}`);
  return result.ok ? [] : result.problems;
}

/** Asserts that `env` gives exactly one problem, about `name`, and returns it. */
function oneProblem(env: NodeJS.ProcessEnv, name: string): string {
  const lines = problems(env);
  assert.equal(lines.length, 1, lines.join('\n'));
  const [line = ''] = lines;
  assert.ok(line.startsWith(`${name}: `), line);
  return line;
}

describe('defaults', () => {
  test('an empty environment gives the documented defaults in dev mode', () => {
    const expected: Config = {
      issuer: 'http://localhost:4000',
      host: '127.0.0.1',
      port: 4000,
      store: 'sqlite://./data/gateway.sqlite',
      secrets: [],
      upstream: {
        issuer: 'https://accounts.google.com',
        clientId: undefined,
        clientSecret: undefined,
        scopes: ['openid', 'email', 'profile'],
        hostedDomains: [],
        recheckInterval: 300,
      },
      upstreams: [],
      devMode: true,
      production: false,
      allowedEmailDomains: [],
      registrationToken: undefined,
      clientsFile: undefined,
      secretRotationGrace: 86400,
      cookieDomains: [],
      redirectDomains: [],
      forwardAuthHosts: [],
      outboundPrivateHosts: [],
      reservedUsernames: [...DEFAULT_RESERVED_USERNAMES],
      apiPaths: [],
      apiScopes: [],
      hostRules: [],
      hostRulesSource: 'GATEWAY_HOST_RULES',
      groups: {},
      ttl: { accessToken: 300, refreshToken: 1209600, session: 1209600 },
      refreshGrace: 5,
      keyRollIn: 600,
      keyRotationInterval: 0,
      regulation: {
        clientFailures: 20,
        addressFailures: 200,
        failureWindow: 300,
        signInSteps: 1200,
        registrations: 60,
      },
      shutdownTimeout: 8,
      trustedProxies: ['127.0.0.1', '::1'],
      logLevel: 'info',
      accessLog: false,
      otlpEndpoint: undefined,
    };
    assert.deepEqual(ok({}), expected);
  });

  test("variables that are not the gateway's are ignored, and empty values count as unset", () => {
    const config = ok({ PATH: '/bin', HOME: '/root', MY_GATEWAY_X: '1', GATEWAY_PORT: '', UPSTREAM_CLIENT_ID: '  ' });
    assert.equal(config.port, 4000);
    assert.equal(config.devMode, true);
  });

  test('NODE_ENV other than production is not production', () => {
    assert.equal(ok({ NODE_ENV: 'test' }).production, false);
  });
});

describe('GATEWAY_ISSUER', () => {
  test('accepts http(s) URLs and drops a trailing slash', () => {
    assert.equal(ok({ GATEWAY_ISSUER: 'https://id.example.com/' }).issuer, 'https://id.example.com');
    assert.equal(ok({ GATEWAY_ISSUER: 'http://localhost:4000/auth//' }).issuer, 'http://localhost:4000/auth');
    assert.equal(ok({ GATEWAY_ISSUER: 'https://ID.Example.com' }).issuer, 'https://id.example.com');
  });

  test('refuses other schemes, relative URLs, queries, fragments and credentials', () => {
    assert.equal(
      oneProblem({ GATEWAY_ISSUER: 'ftp://example.com' }, 'GATEWAY_ISSUER'),
      'GATEWAY_ISSUER: must be an http:// or https:// URL (got "ftp://example.com")',
    );
    assert.match(oneProblem({ GATEWAY_ISSUER: 'example.com' }, 'GATEWAY_ISSUER'), /absolute URL/);
    assert.match(oneProblem({ GATEWAY_ISSUER: 'https://example.com/?a=1' }, 'GATEWAY_ISSUER'), /query or fragment/);
    assert.match(oneProblem({ GATEWAY_ISSUER: 'https://example.com/#x' }, 'GATEWAY_ISSUER'), /query or fragment/);
    const line = oneProblem({ GATEWAY_ISSUER: 'https://user:hunter2@example.com' }, 'GATEWAY_ISSUER');
    assert.match(line, /user name or password/);
    assert.doesNotMatch(line, /hunter2/);
  });
});

describe('GATEWAY_HOST and GATEWAY_PORT', () => {
  test('accept a host and a port from 1 to 65535', () => {
    const config = ok({ GATEWAY_HOST: '0.0.0.0', GATEWAY_PORT: '65535' });
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 65535);
    assert.equal(ok({ GATEWAY_PORT: ' 1 ' }).port, 1);
  });

  test('refuse ports outside 1-65535 or not whole numbers', () => {
    assert.equal(
      oneProblem({ GATEWAY_PORT: 'abc' }, 'GATEWAY_PORT'),
      'GATEWAY_PORT: must be an integer between 1 and 65535 (got "abc")',
    );
    for (const port of ['0', '65536', '1.5', '-1', '1e3', '0x10']) oneProblem({ GATEWAY_PORT: port }, 'GATEWAY_PORT');
  });
});

describe('GATEWAY_STORE', () => {
  test('accepts memory, sqlite and redis URLs as given', () => {
    for (const store of [
      'memory://',
      'sqlite://./x.sqlite',
      'sqlite:///var/lib/gw.sqlite',
      'redis://localhost:6379',
      'redis://u:p@redis.internal:6379/3',
      'redis://:p@h:6379',
      'rediss://h.example.com:6380/0',
    ]) {
      assert.equal(ok({ GATEWAY_STORE: store }).store, store);
    }
  });

  test('refuses anything else, without echoing a Redis password', () => {
    assert.match(
      oneProblem({ GATEWAY_STORE: 'postgres://h/db' }, 'GATEWAY_STORE'),
      /must be memory:\/\/, sqlite:\/\/PATH/,
    );
    oneProblem({ GATEWAY_STORE: 'memory' }, 'GATEWAY_STORE');
    assert.match(oneProblem({ GATEWAY_STORE: 'sqlite://' }, 'GATEWAY_STORE'), /file path/);
    oneProblem({ GATEWAY_STORE: 'redis://h:6379?db=1' }, 'GATEWAY_STORE');
    const line = oneProblem({ GATEWAY_STORE: 'redis://user:s3cretpw@h:6379/main' }, 'GATEWAY_STORE');
    assert.match(line, /database must be a number/);
    assert.doesNotMatch(line, /s3cretpw/);
  });
});

describe('UPSTREAM_ISSUER', () => {
  test('accepts https anywhere and http on loopback only, kept exactly as given', () => {
    assert.equal(ok({ UPSTREAM_ISSUER: 'https://idp.example.com/' }).upstream.issuer, 'https://idp.example.com/');
    for (const issuer of [
      'http://127.0.0.1:9000',
      'http://127.8.9.10/x',
      'http://[::1]:8080',
      'http://localhost:3000',
    ]) {
      assert.equal(ok({ UPSTREAM_ISSUER: issuer }).upstream.issuer, issuer);
    }
  });

  test('refuses http elsewhere, other schemes and non-URLs', () => {
    assert.equal(
      oneProblem({ UPSTREAM_ISSUER: 'http://example.com' }, 'UPSTREAM_ISSUER'),
      'UPSTREAM_ISSUER: must be an https:// URL (http:// only on a loopback host: 127.0.0.0/8, ::1, localhost) (got "http://example.com")',
    );
    for (const issuer of [
      'http://10.0.0.1',
      'http://localhost.example.com',
      'ftp://localhost',
      'accounts.google.com',
      'https://x/?q',
    ]) {
      oneProblem({ UPSTREAM_ISSUER: issuer }, 'UPSTREAM_ISSUER');
    }
  });
});

describe('upstream client', () => {
  test('both id and secret leave dev mode', () => {
    const config = ok({ UPSTREAM_CLIENT_ID: 'id.apps.googleusercontent.com', UPSTREAM_CLIENT_SECRET: 'GOCSPX-short' });
    assert.equal(config.devMode, false);
    assert.equal(config.upstream.clientId, 'id.apps.googleusercontent.com');
    assert.equal(config.upstream.clientSecret, 'GOCSPX-short');
  });

  test('one without the other is refused', () => {
    assert.equal(
      oneProblem({ UPSTREAM_CLIENT_ID: 'id' }, 'UPSTREAM_CLIENT_SECRET'),
      'UPSTREAM_CLIENT_SECRET: required when UPSTREAM_CLIENT_ID is set (give both or neither)',
    );
    assert.equal(
      oneProblem({ UPSTREAM_CLIENT_SECRET: 'sec' }, 'UPSTREAM_CLIENT_ID'),
      'UPSTREAM_CLIENT_ID: required when UPSTREAM_CLIENT_SECRET is set (give both or neither)',
    );
  });

  test('scopes are split on spaces or commas and must include openid', () => {
    assert.deepEqual(ok({ UPSTREAM_SCOPES: 'openid, email  groups' }).upstream.scopes, ['openid', 'email', 'groups']);
    assert.match(oneProblem({ UPSTREAM_SCOPES: 'email profile' }, 'UPSTREAM_SCOPES'), /must include openid/);
  });

  test('hosted domains and the recheck interval', () => {
    const config = ok({ UPSTREAM_HOSTED_DOMAIN: 'Example.com, corp.example', GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0' });
    assert.deepEqual(config.upstream.hostedDomains, ['example.com', 'corp.example']);
    assert.equal(config.upstream.recheckInterval, 0);
    oneProblem({ UPSTREAM_HOSTED_DOMAIN: '.example.com' }, 'UPSTREAM_HOSTED_DOMAIN');
    oneProblem({ GATEWAY_UPSTREAM_RECHECK_INTERVAL: '-5' }, 'GATEWAY_UPSTREAM_RECHECK_INTERVAL');
  });
});

describe('secrets', () => {
  test('GATEWAY_SECRETS is a trimmed comma list of secrets of 32 characters or more', () => {
    assert.deepEqual(ok({ GATEWAY_SECRETS: ` ${secretA} , ${secretB},` }).secrets, [secretA, secretB]);
  });

  test('a short secret is refused in any mode, without echoing it', () => {
    const line = oneProblem({ GATEWAY_SECRETS: `${secretA},tooshort-secret-value` }, 'GATEWAY_SECRETS');
    assert.equal(line, 'GATEWAY_SECRETS: each secret must be at least 32 characters (secret 2 of 2 is shorter)');
    oneProblem({ GATEWAY_SECRETS: ',,' }, 'GATEWAY_SECRETS');
  });

  test('GATEWAY_REGISTRATION_TOKEN must be at least 32 characters', () => {
    assert.equal(ok({ GATEWAY_REGISTRATION_TOKEN: secretB }).registrationToken, secretB);
    assert.equal(
      oneProblem({ GATEWAY_REGISTRATION_TOKEN: 'short-token' }, 'GATEWAY_REGISTRATION_TOKEN'),
      'GATEWAY_REGISTRATION_TOKEN: must be at least 32 characters',
    );
  });
});

describe('production', () => {
  /** A secret as `openssl rand -base64 32` makes it. */
  const randomSecret = () => randomBytes(32).toString('base64');
  const production = {
    NODE_ENV: 'production',
    GATEWAY_ISSUER: 'https://login.example.com',
    GATEWAY_SECRETS: randomSecret(),
    UPSTREAM_CLIENT_ID: 'id',
    UPSTREAM_CLIENT_SECRET: 'sec',
  };

  test('accepts an https issuer, random secrets and upstream credentials', () => {
    const config = ok(production);
    assert.equal(config.production, true);
    assert.equal(config.devMode, false);
  });

  test('requires GATEWAY_SECRETS', () => {
    assert.match(
      oneProblem({ ...production, GATEWAY_SECRETS: undefined }, 'GATEWAY_SECRETS'),
      /required when NODE_ENV=production/,
    );
  });

  test('refuses the development IdP', () => {
    const lines = problems({
      NODE_ENV: 'production',
      GATEWAY_ISSUER: production.GATEWAY_ISSUER,
      GATEWAY_SECRETS: production.GATEWAY_SECRETS,
    });
    assert.deepEqual(lines, [
      'UPSTREAM_CLIENT_ID: required when NODE_ENV=production, or GATEWAY_UPSTREAMS (the development IdP is refused in production)',
      'UPSTREAM_CLIENT_SECRET: required when NODE_ENV=production',
    ]);
  });

  test('requires GATEWAY_ISSUER, over https (http only on a loopback host, which nobody else can reach)', () => {
    assert.equal(
      oneProblem({ ...production, GATEWAY_ISSUER: undefined }, 'GATEWAY_ISSUER'),
      'GATEWAY_ISSUER: required when NODE_ENV=production: the public https:// URL of the gateway (e.g. https://login.example.com)',
    );
    assert.equal(
      oneProblem({ ...production, GATEWAY_ISSUER: 'http://login.example.com' }, 'GATEWAY_ISSUER'),
      'GATEWAY_ISSUER: must be an https:// URL when NODE_ENV=production (http:// only on a loopback host: 127.0.0.0/8, ::1, localhost)',
    );
    oneProblem({ ...production, GATEWAY_ISSUER: 'http://10.0.0.5:4000' }, 'GATEWAY_ISSUER');
    for (const issuer of ['http://127.0.0.1:4000', 'http://localhost:4000', 'http://[::1]:4000']) {
      assert.equal(ok({ ...production, GATEWAY_ISSUER: issuer }).issuer, issuer);
    }
    // outside production the default stays, and any http issuer is taken
    assert.equal(ok({}).issuer, 'http://localhost:4000');
    assert.equal(ok({ GATEWAY_ISSUER: 'http://login.example.com' }).issuer, 'http://login.example.com');
    // a malformed issuer is reported once, by its own rule
    assert.match(oneProblem({ ...production, GATEWAY_ISSUER: 'nope' }, 'GATEWAY_ISSUER'), /absolute URL/);
  });

  test('every secret must look random; openssl rand output always passes', () => {
    for (const weak of ['a'.repeat(32), 'ab'.repeat(16), 'abcd'.repeat(8)]) {
      const line = oneProblem({ ...production, GATEWAY_SECRETS: weak }, 'GATEWAY_SECRETS');
      assert.equal(
        line,
        'GATEWAY_SECRETS: the secret does not look random (too few different characters, or too repetitive: under 80 bits estimated); ' +
          'use a random value, e.g. from `openssl rand -base64 32`',
      );
      assert.ok(!line.includes(weak));
    }
    assert.match(
      oneProblem({ ...production, GATEWAY_SECRETS: `${randomSecret()},${'x'.repeat(40)}` }, 'GATEWAY_SECRETS'),
      /^GATEWAY_SECRETS: secret 2 of 2 does not look random/,
    );
    for (let i = 0; i < 200; i += 1) {
      ok({
        ...production,
        GATEWAY_SECRETS: `${randomSecret()},${randomBytes(16).toString('hex')},${randomBytes(24).toString('base64url')}`,
      });
    }
    // outside production only the length counts (tests and development use simple values)
    assert.deepEqual(ok({ GATEWAY_SECRETS: 'a'.repeat(32) }).secrets, ['a'.repeat(32)]);
  });

  test('GATEWAY_TRUSTED_PROXIES may not hold a range wider than /8 (IPv4) or /7 (IPv6)', () => {
    for (const huge of [
      '0.0.0.0/0',
      '::/0',
      '128.0.0.0/1',
      '10.0.0.0/7',
      '2000::/3',
      '::ffff:0:0/96',
      '::ffff:0.0.0.0/100',
      '::/80',
    ]) {
      const line = oneProblem(
        { ...production, GATEWAY_TRUSTED_PROXIES: `127.0.0.1,${huge}` },
        'GATEWAY_TRUSTED_PROXIES',
      );
      assert.ok(
        line.startsWith(`GATEWAY_TRUSTED_PROXIES: ${JSON.stringify(huge)} is too wide for NODE_ENV=production`),
        line,
      );
    }
    for (const fine of [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.1.10',
      'fd00::/8',
      'fc00::/7',
      '2001:db8::/32',
      '::ffff:10.0.0.0/104',
      '::1',
    ]) {
      assert.deepEqual(ok({ ...production, GATEWAY_TRUSTED_PROXIES: fine }).trustedProxies, [fine]);
    }
    assert.deepEqual(
      ok({ GATEWAY_TRUSTED_PROXIES: '0.0.0.0/0' }).trustedProxies,
      ['0.0.0.0/0'],
      "outside production it is the operator's call",
    );
  });

  test('every production problem is reported at once, one line each', () => {
    const lines = problems({
      NODE_ENV: 'production',
      GATEWAY_ISSUER: 'http://login.example.com',
      GATEWAY_SECRETS: 'a'.repeat(32),
      GATEWAY_TRUSTED_PROXIES: '0.0.0.0/0,::/0',
      GATEWAY_COOKIE_DOMAINS: '.co.uk',
      GATEWAY_OUTBOUND_PRIVATE_HOSTS: '*',
      UPSTREAM_CLIENT_ID: 'id',
      UPSTREAM_CLIENT_SECRET: 'sec',
    });
    // each setting's own rules first, then the production rules
    assert.deepEqual(
      lines.map((line) => line.split(':')[0]),
      [
        'GATEWAY_COOKIE_DOMAINS',
        'GATEWAY_OUTBOUND_PRIVATE_HOSTS',
        'GATEWAY_ISSUER',
        'GATEWAY_SECRETS',
        'GATEWAY_TRUSTED_PROXIES',
        'GATEWAY_TRUSTED_PROXIES',
      ],
    );
    for (const line of lines) assert.doesNotMatch(line, /\n|aaaa/);
  });
});

describe('GATEWAY_OUTBOUND_PRIVATE_HOSTS', () => {
  test('takes host:port entries, normalised as URLs name them', () => {
    assert.deepEqual(
      ok({ GATEWAY_OUTBOUND_PRIVATE_HOSTS: '127.0.0.1:8000, App.Internal:8443,[::1]:9000,127.1:80,[::FFFF:7F00:1]:1' })
        .outboundPrivateHosts,
      ['127.0.0.1:8000', 'app.internal:8443', '[::1]:9000', '127.0.0.1:80', '[::ffff:7f00:1]:1'],
    );
  });

  test('refuses an entry without a port, and any wildcard, in every mode', () => {
    assert.equal(
      oneProblem({ GATEWAY_OUTBOUND_PRIVATE_HOSTS: '127.0.0.1:8000,127.0.0.1' }, 'GATEWAY_OUTBOUND_PRIVATE_HOSTS'),
      'GATEWAY_OUTBOUND_PRIVATE_HOSTS: an entry without a port would open every port of that host; ' +
        'name each service as host:port (e.g. 127.0.0.1:8000, app.internal:8443, [::1]:9000) (got "127.0.0.1")',
    );
    assert.equal(
      oneProblem({ GATEWAY_OUTBOUND_PRIVATE_HOSTS: '*' }, 'GATEWAY_OUTBOUND_PRIVATE_HOSTS'),
      'GATEWAY_OUTBOUND_PRIVATE_HOSTS: a wildcard would switch SSRF protection off for every host it matches; ' +
        'name each service as host:port (e.g. 127.0.0.1:8000, app.internal:8443, [::1]:9000) (got "*")',
    );
    for (const bad of [
      '*:443',
      '*.internal:80',
      '[::1]',
      '::1:80',
      'app.internal',
      ':8080',
      'host:0',
      'host:70000',
      'http://host:80',
      'a b:80',
      'user@host:80',
    ]) {
      oneProblem({ GATEWAY_OUTBOUND_PRIVATE_HOSTS: bad }, 'GATEWAY_OUTBOUND_PRIVATE_HOSTS');
    }
  });
});

describe('GATEWAY_RESERVED_USERNAMES', () => {
  test('defaults to administrative and role names; a value replaces the list, lower-cased', () => {
    for (const name of ['admin', 'administrator', 'root', 'support', 'security', 'system'])
      assert.ok(ok({}).reservedUsernames.includes(name), name);
    assert.deepEqual(ok({ GATEWAY_RESERVED_USERNAMES: 'admin, CEO,hr.team' }).reservedUsernames, [
      'admin',
      'ceo',
      'hr.team',
    ]);
    assert.match(
      oneProblem({ GATEWAY_RESERVED_USERNAMES: 'admin,the boss' }, 'GATEWAY_RESERVED_USERNAMES'),
      /"the boss" is not a user name/,
    );
  });
});

describe('lists, lifetimes and the rest', () => {
  test('domains are trimmed, lower-cased, and redirect domains default to the cookie domains', () => {
    const config = ok({
      GATEWAY_COOKIE_DOMAINS: '.Example.com, ,other.org',
      GATEWAY_ALLOWED_EMAIL_DOMAINS: 'Example.COM',
    });
    assert.deepEqual(config.cookieDomains, ['.example.com', 'other.org']);
    assert.deepEqual(config.redirectDomains, ['.example.com', 'other.org']);
    // Forward auth serves the cookie domains' subdomains too.
    assert.deepEqual(config.forwardAuthHosts, ['.example.com', 'other.org', '.example.com', '.other.org']);
    assert.deepEqual(config.allowedEmailDomains, ['example.com']);
    const own = ok({ GATEWAY_COOKIE_DOMAINS: '.example.com', GATEWAY_REDIRECT_DOMAINS: 'app.example.com:8443' });
    assert.deepEqual(own.redirectDomains, ['app.example.com:8443']);
    assert.deepEqual(own.forwardAuthHosts, ['app.example.com:8443', '.example.com']);
  });

  test('a cookie or redirect domain that is a public suffix is refused, in every mode', () => {
    for (const suffix of ['.com', 'com', '.co.uk', 'co.uk', '.github.io', 'kawasaki.jp']) {
      assert.equal(
        oneProblem({ GATEWAY_COOKIE_DOMAINS: `.example.com,${suffix}` }, 'GATEWAY_COOKIE_DOMAINS'),
        `GATEWAY_COOKIE_DOMAINS: ${JSON.stringify(suffix)} is a public suffix (anyone can register a domain under it); name your own domain, e.g. .example.com (got ".example.com,${suffix}")`,
      );
    }
    for (const suffix of ['.com', 'co.uk:443'])
      oneProblem({ GATEWAY_REDIRECT_DOMAINS: suffix }, 'GATEWAY_REDIRECT_DOMAINS');
    // registrable domains, and names the list does not know (local development), are fine
    assert.deepEqual(
      ok({ GATEWAY_COOKIE_DOMAINS: '.example.co.uk,.app.github.io,localhost,.corp.internal' }).cookieDomains,
      ['.example.co.uk', '.app.github.io', 'localhost', '.corp.internal'],
    );
    assert.deepEqual(ok({ GATEWAY_REDIRECT_DOMAINS: '.example.com:8443' }).redirectDomains, ['.example.com:8443']);
  });

  test('bad domains are refused', () => {
    assert.match(
      oneProblem({ GATEWAY_COOKIE_DOMAINS: 'ok.com,bad domain' }, 'GATEWAY_COOKIE_DOMAINS'),
      /"bad domain" is not a domain name/,
    );
    oneProblem({ GATEWAY_COOKIE_DOMAINS: 'example.com:80' }, 'GATEWAY_COOKIE_DOMAINS');
    oneProblem({ GATEWAY_ALLOWED_EMAIL_DOMAINS: '@example.com' }, 'GATEWAY_ALLOWED_EMAIL_DOMAINS');
  });

  test('lifetimes are whole seconds; grace and roll-in may be 0', () => {
    const config = ok({
      GATEWAY_ACCESS_TOKEN_TTL: '60',
      GATEWAY_REFRESH_TOKEN_TTL: '3600',
      GATEWAY_SESSION_TTL: '7200',
      GATEWAY_REFRESH_GRACE: '0',
      GATEWAY_KEY_ROLL_IN: '0',
    });
    assert.deepEqual(config.ttl, { accessToken: 60, refreshToken: 3600, session: 7200 });
    assert.equal(config.refreshGrace, 0);
    assert.equal(config.keyRollIn, 0);
    oneProblem({ GATEWAY_ACCESS_TOKEN_TTL: '0' }, 'GATEWAY_ACCESS_TOKEN_TTL');
    oneProblem({ GATEWAY_SESSION_TTL: '1.5' }, 'GATEWAY_SESSION_TTL');
    oneProblem({ GATEWAY_REFRESH_GRACE: '-1' }, 'GATEWAY_REFRESH_GRACE');
  });

  test('trusted proxies are IP addresses or CIDR ranges', () => {
    assert.deepEqual(ok({ GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8,192.168.1.1' }).trustedProxies, [
      '10.0.0.0/8',
      'fd00::/8',
      '192.168.1.1',
    ]);
    for (const bad of ['10.0.0.0/33', 'proxy.local', '10.0.0.300', '::1/129', '10.0.0.0/8/1']) {
      oneProblem({ GATEWAY_TRUSTED_PROXIES: bad }, 'GATEWAY_TRUSTED_PROXIES');
    }
  });

  test("the log level is one of pino's, case-insensitive", () => {
    assert.equal(ok({ GATEWAY_LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
    assert.equal(ok({ GATEWAY_LOG_LEVEL: 'silent' }).logLevel, 'silent');
    oneProblem({ GATEWAY_LOG_LEVEL: 'verbose' }, 'GATEWAY_LOG_LEVEL');
  });

  test('the clients file is passed on as given', () => {
    assert.equal(ok({ GATEWAY_CLIENTS_FILE: './clients.yaml' }).clientsFile, './clients.yaml');
  });
});

describe('problems', () => {
  test('all problems are reported at once, one line each', () => {
    const lines = problems({
      GATEWAY_PORT: 'abc',
      GATEWAY_ISSUER: 'nope',
      GATEWAY_STORE: 'mysql://x',
      GATEWAY_LOG_LEVEL: 'loud',
      GATEWAY_TYPO: '1',
      UPSTREAM_CLIENT_ID: 'id',
      NODE_ENV: 'production',
    });
    assert.equal(lines.length, 7, lines.join('\n'));
    for (const name of [
      'GATEWAY_PORT',
      'GATEWAY_ISSUER',
      'GATEWAY_STORE',
      'GATEWAY_LOG_LEVEL',
      'UPSTREAM_CLIENT_SECRET',
      'GATEWAY_SECRETS',
    ]) {
      assert.ok(
        lines.some((line) => line.startsWith(`${name}: `)),
        `${name} missing in\n${lines.join('\n')}`,
      );
    }
    assert.ok(lines.includes('unknown setting GATEWAY_TYPO'));
    for (const line of lines) assert.doesNotMatch(line, /\n/);
  });

  test('unknown GATEWAY_ and UPSTREAM_ variables are refused, with a hint for a near miss', () => {
    assert.deepEqual(problems({ GATEWAY_FOO: 'x', UPSTREAM_CLIENTID: 'y' }), [
      'unknown setting GATEWAY_FOO',
      'unknown setting UPSTREAM_CLIENTID (did you mean UPSTREAM_CLIENT_ID?)',
    ]);
  });

  test('secret values are never echoed in problem lines', () => {
    const marker = 'TOPSECRETVALUE';
    const path = file('secrets.yaml', `UPSTREAM_CLIENT_SECRET: [${marker}1, ${marker}2]\nUPSTREAM_CLIENT_ID: id\n`);
    const lines = problems({
      GATEWAY_CONFIG: path,
      GATEWAY_SECRETS: `${marker}-short`,
      GATEWAY_REGISTRATION_TOKEN: `${marker}-also-short`,
    });
    assert.equal(lines.length, 3, lines.join('\n'));
    for (const line of lines) assert.doesNotMatch(line, new RegExp(marker));
  });
});

describe('config file', () => {
  test('JSON: strings, numbers and lists', () => {
    const path = file(
      'gateway.json',
      JSON.stringify({
        GATEWAY_PORT: 8080,
        GATEWAY_COOKIE_DOMAINS: ['.example.com', 'other.org'],
        GATEWAY_LOG_LEVEL: 'warn',
        GATEWAY_SECRETS: [secretA, secretB],
      }),
    );
    const config = ok({ GATEWAY_CONFIG: path });
    assert.equal(config.port, 8080);
    assert.deepEqual(config.cookieDomains, ['.example.com', 'other.org']);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.secrets, [secretA, secretB]);
  });

  test('YAML, and the environment wins over the file', () => {
    const path = file(
      'gateway.yaml',
      [
        'GATEWAY_PORT: 8080',
        'GATEWAY_HOST: 0.0.0.0',
        'UPSTREAM_SCOPES: [openid, email]',
        'GATEWAY_ISSUER: https://from-file.example.com',
        'GATEWAY_KEY_ROLL_IN:',
        '',
      ].join('\n'),
    );
    const config = ok({ GATEWAY_CONFIG: path, GATEWAY_PORT: '9090', GATEWAY_ISSUER: '' });
    assert.equal(config.port, 9090);
    assert.equal(config.host, '0.0.0.0');
    assert.deepEqual(config.upstream.scopes, ['openid', 'email']);
    assert.equal(config.issuer, 'https://from-file.example.com', 'an empty env value does not hide the file');
    assert.equal(config.keyRollIn, 600, 'a key without a value keeps the default');
  });

  test('an empty file is no settings', () => {
    assert.equal(ok({ GATEWAY_CONFIG: file('empty.yml', '') }).port, 4000);
  });

  test('unknown keys in the file are refused, naming the file', () => {
    const path = file('unknown.yaml', 'GATEWAY_PORT: 8080\ngateway_port: 1\nCOLOR: blue\n');
    assert.deepEqual(problems({ GATEWAY_CONFIG: path }), [
      `unknown setting gateway_port in ${path} (did you mean GATEWAY_PORT?)`,
      `unknown setting COLOR in ${path}`,
    ]);
  });

  test('environment-only keys are refused in the file', () => {
    const path = file('env-only.yaml', 'NODE_ENV: production\nGATEWAY_CONFIG: other.yaml\n');
    const lines = problems({ GATEWAY_CONFIG: path });
    assert.deepEqual(
      lines.map((line) => line.split(':')[0]),
      ['NODE_ENV', 'GATEWAY_CONFIG'],
    );
  });

  test('bad values from the file are reported like env values', () => {
    const path = file(
      'bad.yaml',
      'GATEWAY_PORT: 70000\nGATEWAY_HOST: {a: 1}\nGATEWAY_ISSUER: [https://a, https://b]\n',
    );
    assert.deepEqual(
      problems({ GATEWAY_CONFIG: path }),
      [
        'GATEWAY_HOST: must be a string, a number, a boolean or a list (got {"a":1})',
        'GATEWAY_ISSUER: must be a single value, not a list (got ["https://a","https://b"])',
        'GATEWAY_PORT: must be an integer between 1 and 65535 (got 70000)',
      ].sort((a, b) => order(a) - order(b)),
    );
  });

  test('a missing file is one problem line, together with the others', () => {
    const path = join(dir, 'missing.yaml');
    assert.deepEqual(problems({ GATEWAY_CONFIG: path, GATEWAY_PORT: 'x' }), [
      `GATEWAY_CONFIG: cannot read ${path} (ENOENT)`,
      'GATEWAY_PORT: must be an integer between 1 and 65535 (got "x")',
    ]);
  });

  test('unparsable JSON or YAML is one problem line that quotes nothing from the file', () => {
    const json = file('broken.json', `{\n  "GATEWAY_SECRETS": "${secretA}",\n  oops\n}`);
    const [jsonLine = '', ...restJson] = problems({ GATEWAY_CONFIG: json });
    assert.equal(restJson.length, 0);
    assert.match(jsonLine, /^GATEWAY_CONFIG: .*broken\.json is not valid JSON/);
    assert.doesNotMatch(jsonLine, new RegExp(secretA));

    const yaml = file('broken.yaml', `GATEWAY_SECRETS: ${secretA}\n  - bad: [\n`);
    const [yamlLine = '', ...restYaml] = problems({ GATEWAY_CONFIG: yaml });
    assert.equal(restYaml.length, 0);
    assert.match(yamlLine, /^GATEWAY_CONFIG: .*broken\.yaml is not valid YAML \([A-Z_]+ at line \d+, column \d+\)$/);
    assert.doesNotMatch(yamlLine, new RegExp(secretA));
  });

  test('a file that is not a mapping is refused', () => {
    assert.match(oneProblem({ GATEWAY_CONFIG: file('list.yaml', '- a\n- b\n') }, 'GATEWAY_CONFIG'), /mapping/);
  });
});

describe('result', () => {
  test('the config is deep-frozen', () => {
    const config = ok({ GATEWAY_SECRETS: secretA });
    for (const part of [
      config,
      config.upstream,
      config.upstream.scopes,
      config.secrets,
      config.ttl,
      config.trustedProxies,
    ]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.secrets as string[]).push('x');
    }, TypeError);
  });

  test('formatConfigCheck summarises a good config without secrets', () => {
    const result = loadConfig({
      GATEWAY_STORE: 'redis://user:pw-in-url@redis.internal:6379/2',
      GATEWAY_SECRETS: secretA,
      UPSTREAM_CLIENT_ID: 'client-id',
      UPSTREAM_CLIENT_SECRET: secretB,
      GATEWAY_REGISTRATION_TOKEN: secretB,
    });
    const { exitCode, output } = formatConfigCheck(result);
    assert.equal(exitCode, 0);
    assert.match(output, /issuer: +http:\/\/localhost:4000/);
    assert.match(output, /store: +redis:\/\/redis\.internal:6379\/2\n/);
    assert.match(
      output,
      /upstream: +google \(google, https:\/\/accounts\.google\.com\); its redirect URI to register: http:\/\/localhost:4000\/upstream\/callback/,
    );
    for (const secret of [secretA, secretB, 'pw-in-url']) assert.ok(!output.includes(secret));
    assert.match(formatConfigCheck(loadConfig({})).output, /DEV MODE/);
    assert.match(formatConfigCheck(loadConfig({ GATEWAY_STORE: 'memory://' })).output, /store: +memory/);
  });

  test('formatConfigCheck prints the problems and exits 1', () => {
    const result: LoadResult = loadConfig({ GATEWAY_PORT: '0', GATEWAY_FOO: '1' });
    assert.deepEqual(formatConfigCheck(result), {
      exitCode: 1,
      output: 'GATEWAY_PORT: must be an integer between 1 and 65535 (got "0")\nunknown setting GATEWAY_FOO',
    });
  });
});

describe('settings reference', () => {
  test('docs/SETTINGS.md is what renderSettingsReference() renders (run `npx gateway config docs > docs/SETTINGS.md`)', () => {
    const doc = readFileSync(new URL('../docs/SETTINGS.md', import.meta.url), 'utf8');
    assert.equal(doc, renderSettingsReference());
  });

  test('every setting of the public interface is in the schema and in the reference', () => {
    const reference = renderSettingsReference();
    for (const name of [
      'GATEWAY_ISSUER',
      'GATEWAY_HOST',
      'GATEWAY_PORT',
      'GATEWAY_STORE',
      'GATEWAY_SECRETS',
      'UPSTREAM_ISSUER',
      'UPSTREAM_CLIENT_ID',
      'UPSTREAM_CLIENT_SECRET',
      'UPSTREAM_SCOPES',
      'UPSTREAM_HOSTED_DOMAIN',
      'GATEWAY_ALLOWED_EMAIL_DOMAINS',
      'GATEWAY_REGISTRATION_TOKEN',
      'GATEWAY_CLIENTS_FILE',
      'GATEWAY_COOKIE_DOMAINS',
      'GATEWAY_REDIRECT_DOMAINS',
      'GATEWAY_ACCESS_TOKEN_TTL',
      'GATEWAY_REFRESH_TOKEN_TTL',
      'GATEWAY_SESSION_TTL',
      'GATEWAY_REFRESH_GRACE',
      'GATEWAY_KEY_ROLL_IN',
      'GATEWAY_LOG_LEVEL',
      'GATEWAY_UPSTREAM_RECHECK_INTERVAL',
      'GATEWAY_TRUSTED_PROXIES',
      'GATEWAY_CONFIG',
    ]) {
      assert.ok(Object.hasOwn(settingsShape, name), `${name} missing from the schema`);
      assert.ok(reference.includes(`| \`${name}\` |`), `${name} missing from the reference`);
    }
  });
});

/** Position of a problem line's setting in the schema, the order problems are reported in. */
function order(line: string): number {
  return Object.keys(settingsShape).indexOf(line.split(':')[0] ?? '');
}

describe('forward-auth policy settings', () => {
  test('host rules and groups are read as JSON from the environment', () => {
    const config = ok({
      GATEWAY_HOST_RULES:
        '[{"host":".example.com","allowed_email_domains":["example.com"]},{"host":"flower.example.com","allowed_groups":["ops"]}]',
      GATEWAY_GROUPS: '{"ops":["ada@example.com"]}',
      GATEWAY_API_PATHS: '/api/, /flower/api/',
    });
    assert.equal(config.hostRules.length, 2);
    assert.deepEqual(config.hostRules[1]?.allowed_groups, ['ops']);
    assert.deepEqual(config.groups['ops'], ['ada@example.com']);
    assert.deepEqual(config.apiPaths, ['/api/', '/flower/api/']);
  });

  test('malformed rules are refused with one line each', () => {
    const result = loadConfig({ GATEWAY_HOST_RULES: '[{"hots":"x"}]', GATEWAY_GROUPS: 'not json' });
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    assert.ok(problems.includes('GATEWAY_HOST_RULES: rule 1: unknown key hots'), problems.join('\n'));
    assert.ok(
      problems.includes('GATEWAY_HOST_RULES: rule 1: host: Invalid input: expected string, received undefined'),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('GATEWAY_GROUPS: must be JSON')),
      problems.join('\n'),
    );
  });

  describe('GATEWAY_RULES_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-file-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };

    test('a YAML file of rules is read, and explained by its own name', () => {
      const file = write(
        'rules.yaml',
        [
          'rules:',
          '  - host: app.example.com',
          '    path: /flower',
          '    allowed_groups: [ops]',
          '  - host: app.example.com',
          '    path: /static',
          '    allow: public',
        ].join('\n'),
      );
      const config = ok({ GATEWAY_RULES_FILE: file });
      assert.deepEqual(config.hostRules, [
        { host: 'app.example.com', path: '/flower', allowed_groups: ['ops'] },
        { host: 'app.example.com', path: '/static', allow: 'public' },
      ]);
      assert.equal(config.hostRulesSource, file);
    });

    test('a JSON list alone is a rules file too', () => {
      const file = write('rules.json', '[{"host": ".example.com", "allowed_email_domains": ["example.com"]}]');
      assert.equal(ok({ GATEWAY_RULES_FILE: file }).hostRules.length, 1);
    });

    test('every problem in the file is a line of its own, naming the rule', () => {
      const file = write(
        'broken.yaml',
        [
          'rules:',
          '  - host: app.example.com',
          '    path: flower',
          '    methods: [GET, "PO ST"]',
          '  - host: ok.example.com',
          '  - host: app.example.com',
          '    allow: public',
          '    allowed_groups: [ops]',
          '    alowed_emails: [ada@example.com]',
          '  - host: app.example.com',
          '    trusted_networks: [10.0.0.0/33]',
          '    allowed_upstreams: [staff]',
        ].join('\n'),
      );
      const result = loadConfig({ GATEWAY_RULES_FILE: file });
      assert.equal(result.ok, false);
      const problems = result.ok ? [] : result.problems;
      const at = `GATEWAY_RULES_FILE: ${file}: rule`;
      assert.deepEqual(
        problems.filter((p) => p.startsWith(at)).map((p) => p.slice(at.length)),
        [
          ' 1 (app.example.com): path: a path starting with /, in plain ASCII, without spaces',
          ' 1 (app.example.com): methods.1: an HTTP method',
          ' 3 (app.example.com): unknown key alowed_emails',
          ' 3 (app.example.com): a public rule admits everyone: it takes no allowed_* lists or trusted_networks',
          ' 4 (app.example.com): trusted_networks.0: an IP address or CIDR block',
        ],
        problems.join('\n'),
      );
    });

    test('a rule naming an upstream that is not configured is refused with its number', () => {
      const file = write(
        'upstreams.yaml',
        'rules:\n  - host: a.example.com\n  - host: b.example.com\n    allowed_upstreams: [staff]\n',
      );
      const result = loadConfig({ GATEWAY_RULES_FILE: file });
      const problems = result.ok ? [] : result.problems;
      assert.deepEqual(problems, [
        'GATEWAY_RULES_FILE: rule 2 (b.example.com): allowed_upstreams names no configured upstream: staff (configured: dev)',
      ]);
    });

    test('not with GATEWAY_HOST_RULES, and a missing file is named', () => {
      const file = write('one.yaml', 'rules: []\n');
      const both = loadConfig({ GATEWAY_RULES_FILE: file, GATEWAY_HOST_RULES: '[]' });
      assert.deepEqual(both.ok ? [] : both.problems, [
        'GATEWAY_RULES_FILE: not with GATEWAY_HOST_RULES: keep the rules in one place',
      ]);
      const missing = loadConfig({ GATEWAY_RULES_FILE: join(dir, 'nowhere.yaml') });
      assert.deepEqual(missing.ok ? [] : missing.problems, [
        `GATEWAY_RULES_FILE: cannot read ${join(dir, 'nowhere.yaml')} (ENOENT)`,
      ]);
      const stray = write('stray.yaml', 'rules: []\ngroups: {}\n');
      const strayResult = loadConfig({ GATEWAY_RULES_FILE: stray });
      assert.match((strayResult.ok ? [] : strayResult.problems).join('\n'), /unknown key groups/);
    });
  });
});

describe('placeholder secrets from the examples', () => {
  test('are refused wherever a secret goes: they are long enough, and everyone who read the example knows them', () => {
    for (const env of [
      { GATEWAY_SECRETS: 'replace-with-openssl-rand-base64-48-output-here' },
      { GATEWAY_SECRETS: `${'k'.repeat(40)},change-me-change-me-change-me-change-me` },
      { UPSTREAM_CLIENT_ID: 'id', UPSTREAM_CLIENT_SECRET: 'replace-with-the-google-client-secret' },
    ]) {
      const result = loadConfig(env);
      assert.ok(!result.ok && result.problems.some((p) => /placeholder of an example/.test(p)), JSON.stringify(env));
      assert.doesNotMatch(result.ok ? '' : result.problems.join('\n'), /replace-with|change-me/, 'never echoed');
    }
  });
});

describe('Redis Cluster store URL', () => {
  test('redis+cluster:// with a host list is accepted, a broken one refused without echoing the password', () => {
    assert.equal(
      ok({ GATEWAY_STORE: 'redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2:7000' }).store,
      'redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2:7000',
    );
    const result = loadConfig({ GATEWAY_STORE: 'rediss+cluster://u:supersecret@' });
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    assert.ok(problems[0]?.startsWith('GATEWAY_STORE: '), problems.join('\n'));
    assert.doesNotMatch(problems.join('\n'), /supersecret/);
  });
});
