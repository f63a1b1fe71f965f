/**
 * OpenTelemetry traces, exported over OTLP/HTTP when `GATEWAY_OTLP_ENDPOINT` names a collector;
 * off by default. Off, nothing is loaded and every helper here returns at its first line: the
 * check (`/oauth2/auth`) has no span at all, on or off, and its cost does not change.
 *
 * On, each request but the check and the probes is a server span (tracing-hook.ts), and inside
 * it the steps that take time are child spans: every call to an upstream identity provider
 * (discovery, code exchange, userinfo, refresh: instrument-upstream.ts), group lookups, every
 * store call (instrument-store.ts), and the forward-auth refresh. A sign-in is a trace per hop
 * (the OP's authorize, the upstream's authorize, the callback with its token and userinfo
 * calls); a refresh grant one trace with its store calls and the upstream re-check. Log lines
 * written inside a span carry its `trace_id` (logger.ts), so a slow sign-in's log leads to its trace.
 */
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('gateway');
/** How long an export (and the last flush at shutdown) may wait for the collector. */
const FLUSH_MS = 2_000;
let enabled = false;

/** True once startTracing ran: the span helpers do nothing before. */
export const tracingEnabled = (): boolean => enabled;

/** Starts the exporter and makes spans real; resolves to what flushes and stops them. */
export async function startTracing(endpoint: string): Promise<{ shutdown(): Promise<void> }> {
  const [
    { TracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { AsyncLocalStorageContextManager },
    resources,
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
  ]);
  const provider = new TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': 'gateway' }),
    // Short timeouts: a collector that does not answer costs exports, never the gateway's
    // requests, nor its shutdown beyond FLUSH_MS.
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: endpoint, timeoutMillis: FLUSH_MS }),
        scheduledDelayMillis: 1000,
        exportTimeoutMillis: FLUSH_MS,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  return {
    async shutdown() {
      enabled = false;
      // What is left goes out, unless the collector keeps it waiting: then it is dropped.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        provider.shutdown().catch(() => {}),
        new Promise((resolve) => {
          timer = setTimeout(resolve, FLUSH_MS);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

function failed(span: Span, error: unknown): void {
  // The error's name and message only: an upstream error's details can hold a token response.
  const { name, message } = error as { name?: unknown; message?: unknown };
  span.setStatus({ code: SpanStatusCode.ERROR, message: String(message ?? name ?? 'error').slice(0, 200) });
}

/** Runs `run` inside a child span of the active one when tracing is on; else just runs it. */
export function inSpan<T>(name: string, attributes: Record<string, string>, run: () => Promise<T>): Promise<T> {
  if (!enabled) return run();
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await run();
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A server span for one request, and the context its handling runs in (tracing-hook.ts). */
export function startServerSpan(name: string, attributes: Record<string, string>) {
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes });
  return { span, context: trace.setSpan(context.active(), span) };
}

/** Runs `run` in `ctx` (a server span's), so the handler's spans and logs belong to it. */
export const runInContext = (ctx: ReturnType<typeof context.active>, run: () => void): void => context.with(ctx, run);

/** The active span's trace id, for log lines (logger.ts); none when tracing is off. */
export function activeTraceId(): string | undefined {
  if (!enabled) return undefined;
  const span = trace.getActiveSpan();
  return span?.spanContext().traceId;
}

export { SpanStatusCode };
