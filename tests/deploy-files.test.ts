/**
 * The deployment files (compose.yaml, deploy/kubernetes/gateway.yaml), kept correct without a
 * container engine (none runs on these machines): parsed, and checked against the Dockerfile
 * (its port, its non-root user), the shipped nginx config (every placeholder filled), and the
 * gateway's settings (every name one it knows, secrets only from Secrets, and the values a
 * configuration the gateway accepts in production).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../config/load-config.ts';
import { isSettingName, settingMeta } from '../config/schema.ts';
import { isPlaceholderSecret } from '../config/value-parsers.ts';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const exposed = Number(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1]);
/** The user the image runs as: node:24-slim's `node`, uid 1000. */
const imageUser = /^USER (\S+)$/m.exec(dockerfile)?.[1];

const isSecret = (name: string) => isSettingName(name) && settingMeta(name).secret === true;
/** Names the gateway reads: its settings, and NODE_ENV. */
const known = (name: string) => isSettingName(name) || name === 'NODE_ENV';

describe('compose.yaml', () => {
  const compose = parse(readFileSync('compose.yaml', 'utf8')) as {
    services: Record<string, Record<string, unknown>>;
  };
  const { gateway = {}, redis = {}, nginx = {}, django = {} } = compose.services;

  it('runs the gateway from the Dockerfile on the Redis beside it, with settings the gateway knows', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['django', 'gateway', 'nginx', 'redis']);
    assert.ok(redis['image'], 'redis from an image');
    assert.equal(gateway['build'], '.');
    const env = gateway['environment'] as Record<string, string>;
    for (const name of Object.keys(env)) assert.ok(known(name), `${name} is a setting of the gateway`);
    assert.equal(env['GATEWAY_STORE'], 'redis://redis:6379');
    assert.equal(env['NODE_ENV'], 'production');
    // Secrets come from the environment compose reads (.env), never written here.
    for (const [name, value] of Object.entries(env))
      if (isSecret(name)) assert.match(value, /^\$\{[A-Z_]+:\?[^}]+\}$/, `${name} is required from .env`);
    assert.deepEqual(gateway['depends_on'], { redis: { condition: 'service_healthy' } });
    // Only nginx speaks for clients: its fixed address is the one trusted proxy.
    const nginxAddress = (nginx['networks'] as { default: { ipv4_address: string } }).default.ipv4_address;
    assert.equal(env['GATEWAY_TRUSTED_PROXIES'], nginxAddress);
  });

  it("fills every placeholder of the shipped nginx config, pointing at the gateway's port", () => {
    const command = (nginx['command'] as string[]).join(' ');
    const expressions = [...command.matchAll(/-e ['"]s\/(.+?)\/(.*?)\/['"]/g)].map(([, from = '', to = '']) => [
      from,
      to,
    ]);
    // As sed applies them: each expression to each line, its first match on the line.
    const conf = readFileSync('examples/nginx/gateway.conf', 'utf8')
      .split('\n')
      .map((line) =>
        expressions.reduce(
          (text, [from, to]) => text.replace(from as string, (to as string).replace('$$APP_HOST', 'app.example.com')),
          line,
        ),
      )
      .join('\n');
    for (const placeholder of [
      /server GATEWAY;/,
      /server APP;/,
      /server FLOWER;/,
      /listen LISTEN/,
      /server_name app\.a\.test/,
    ])
      assert.doesNotMatch(conf, placeholder, `${placeholder} filled in`);
    assert.match(conf, new RegExp(`server gateway:${exposed};`), "the gateway's port as the Dockerfile exposes it");
    const volumes = nginx['volumes'] as string[];
    assert.ok(
      volumes.some((v) => v.startsWith('./examples/nginx/gateway.conf:')),
      'the shipped config, not a copy',
    );
    assert.ok(volumes.some((v) => v.startsWith('./examples/nginx/gateway-identity-headers.conf:/etc/nginx/')));
  });

  it('registers the Django app in a clients file the gateway accepts', () => {
    const clients = parse(readFileSync('deploy/compose/clients.yaml', 'utf8')) as { client_id: string }[];
    assert.deepEqual(
      clients.map((c) => c.client_id),
      [(django['environment'] as Record<string, string>)['OIDC_CLIENT_ID']],
    );
    assert.ok(readFileSync('examples/django/Dockerfile', 'utf8').includes('gunicorn'), 'Django behind gunicorn');
  });
});

describe('deploy/kubernetes/gateway.yaml', () => {
  const docs = parseAllDocuments(readFileSync('deploy/kubernetes/gateway.yaml', 'utf8')).map((d) => d.toJS()) as {
    kind: string;
    data?: Record<string, string>;
    stringData?: Record<string, string>;
    spec?: Record<string, unknown>;
  }[];
  const byKind = (kind: string) => docs.find((d) => d.kind === kind);
  const deployment = byKind('Deployment');
  const pod = (deployment?.spec?.['template'] as { spec?: Record<string, unknown> } | undefined)?.spec ?? {};
  const container = (pod['containers'] as Record<string, unknown>[] | undefined)?.[0] ?? {};

  it('probes /healthz and /readyz on the port the Dockerfile exposes', () => {
    const ports = container['ports'] as { name: string; containerPort: number }[];
    assert.deepEqual(ports, [{ name: 'http', containerPort: exposed }]);
    assert.deepEqual((container['livenessProbe'] as { httpGet: unknown }).httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual((container['readinessProbe'] as { httpGet: unknown }).httpGet, { path: '/readyz', port: 'http' });
  });

  it("runs as the image's non-root user, with no way to gain privileges", () => {
    assert.equal(imageUser, 'node');
    const podSecurity = pod['securityContext'] as Record<string, unknown>;
    assert.equal(podSecurity['runAsNonRoot'], true);
    assert.equal(podSecurity['runAsUser'], 1000, "node:24-slim's node user");
    const own = container['securityContext'] as Record<string, unknown>;
    assert.equal(own['allowPrivilegeEscalation'], false);
    assert.deepEqual(own['capabilities'], { drop: ['ALL'] });
  });

  it('takes secrets from the Secret only, and every setting is one the gateway knows and accepts', () => {
    const config = byKind('ConfigMap')?.data ?? {};
    const secret = byKind('Secret')?.stringData ?? {};
    for (const name of Object.keys(config)) {
      assert.ok(known(name), `${name} is a setting`);
      assert.ok(!isSecret(name), `${name} is secret: in the Secret, not the ConfigMap`);
    }
    const fromSecret = (container['env'] as { name: string; valueFrom: { secretKeyRef: { key: string } } }[]).map(
      (e) => [e.name, e.valueFrom.secretKeyRef.key],
    );
    for (const [name, key] of fromSecret) {
      assert.ok(isSecret(name ?? ''), `${name} is a secret setting`);
      assert.ok(key && key in secret, `${key} is in the Secret`);
    }
    // As shipped, its placeholders are refused: nobody deploys them by mistake.
    const shipped: Record<string, string> = Object.fromEntries(
      fromSecret.map(([name, key]) => [name, String(secret[key ?? ''] ?? '')]),
    );
    const asShipped = loadConfig({ ...config, ...shipped });
    assert.ok(!asShipped.ok && asShipped.problems.some((p) => /placeholder of an example/.test(p)));
    // Filled in (the placeholders replaced, as the comments say), the gateway accepts it in production.
    const filled = Object.fromEntries(
      Object.entries(shipped).map(([name, value]) => [
        name,
        isPlaceholderSecret(value) ? randomBytes(36).toString('base64') : value,
      ]),
    );
    const loaded = loadConfig({ ...config, ...filled });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.join('\n'));
    assert.equal(loaded.ok && loaded.config.production, true);
  });

  it('lets only the ingress controller reach the pods, on the port they serve', () => {
    const policy = byKind('NetworkPolicy');
    const rules = policy?.spec?.['ingress'] as { from: unknown[]; ports: { port: number }[] }[] | undefined;
    assert.equal(rules?.length, 1);
    assert.deepEqual(rules?.[0]?.ports, [{ port: exposed }]);
    assert.equal(rules?.[0]?.from.length, 1, 'one source: the controller');
  });

  it('serves the pods through a Service on the named port', () => {
    const service = byKind('Service');
    assert.deepEqual((service?.spec?.['ports'] as unknown[] | undefined)?.[0], {
      name: 'http',
      port: 80,
      targetPort: 'http',
    });
  });
});
