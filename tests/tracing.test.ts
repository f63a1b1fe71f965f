/**
 * OpenTelemetry traces (GATEWAY_OTLP_ENDPOINT), received by an OTLP/HTTP receiver in this test:
 * a sign-in's callback is a server span whose children are the upstream's code exchange and
 * userinfo; a refresh grant's server span holds its store calls and the upstream re-check; the
 * forward-auth check has no span; log lines inside a span carry its trace id.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { confidentialClient, discoverApp, signIn } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

/** An OTLP/HTTP receiver (JSON encoding), as a collector's would be. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    if (req.method === 'POST' && req.url === '/v1/traces') {
      const batch = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: ReceivedSpan[] }[] }[];
      };
      for (const resource of batch.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('OpenTelemetry traces over OTLP (GATEWAY_OTLP_ENDPOINT)', () => {
  let gw: StartedGateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const lines: string[] = [];
  const meta = confidentialClient('traced-app');

  before(async () => {
    receiver = await startReceiver();
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    gw = await startGateway({
      clients: [meta],
      env: { GATEWAY_OTLP_ENDPOINT: receiver.url, GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0' },
      logger: { level: 'info', stream },
    });
  });
  after(async () => {
    await gw?.close();
    await receiver?.close();
  });

  it('sends the spans of a sign-in and a refresh grant, children under their request', async () => {
    const app = await discoverApp(gw.issuer, meta);
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, { email: 'trace@example.com' });
    await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    const check = await fetch(`${gw.issuer}/oauth2/auth`);
    await check.body?.cancel();
    await gw.close(); // flushes what is left
    gw = undefined as unknown as StartedGateway;

    const { spans } = receiver;
    const named = (name: string) => spans.filter((s) => s.name === name);
    const childrenOf = (parent: ReceivedSpan) =>
      spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId).map((s) => s.name);

    const [callback] = named('GET /upstream/callback');
    assert.ok(callback, `a span for the sign-in's callback among ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
    assert.equal(callback.kind, 2, 'a server span');
    const signInSteps = childrenOf(callback);
    assert.ok(signInSteps.includes('upstream.code_exchange'), signInSteps.join(', '));
    assert.ok(signInSteps.includes('upstream.userinfo'), signInSteps.join(', '));
    assert.ok(
      signInSteps.some((name) => name.startsWith('store.')),
      'its store calls',
    );
    assert.ok(
      named('GET /auth').length > 0,
      `the OP's authorize among ${[...new Set(spans.map((s) => s.name))].join(', ')}`,
    );

    const refresh = named('POST /token').find((span) => childrenOf(span).includes('upstream.userinfo'));
    assert.ok(refresh, 'a token request whose children include the upstream re-check (the refresh grant)');
    assert.ok(
      childrenOf(refresh).some((name) => name.startsWith('store.')),
      'and its store calls',
    );

    assert.equal(named('GET /oauth2/auth').length, 0, 'the forward-auth check is never traced');

    // Log lines written inside a traced request name its trace.
    const traced = lines.map((line) => JSON.parse(line) as { trace_id?: string }).filter((l) => l.trace_id);
    assert.ok(traced.length > 0, 'some log lines carry a trace_id');
    const ids = new Set(spans.map((s) => s.traceId));
    assert.ok(
      traced.every((l) => ids.has(l.trace_id ?? '')),
      "every trace_id is one of the exported traces'",
    );
  });

  it('closes without waiting on a collector that never answers (its spans are dropped)', async () => {
    // Accepts connections, answers nothing.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const hung = await startGateway({ env: { GATEWAY_OTLP_ENDPOINT: `http://127.0.0.1:${port}/v1/traces` } });
    try {
      const answer = await fetch(`${hung.issuer}/.well-known/openid-configuration`);
      assert.equal(answer.status, 200, 'requests do not wait on the collector');
      await answer.body?.cancel();
      // Not a figure, a hang check: the last flush gives up after 2 s, far inside this bound.
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        hung.close().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 8_000);
        }),
      ]);
      clearTimeout(timer);
      assert.equal(closed, true, 'the gateway closed');
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
