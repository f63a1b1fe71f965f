/**
 * Requests and latency per route, recorded without allocating: every route gets its own
 * `onResponse` hook (added when the route is registered) that holds its counters directly, so a
 * request costs a few integer additions and two Map look-ups by values that already exist (the
 * method string, the status number). prom-client hashes a label object on every `inc`/`observe`,
 * which is too much for `/oauth2/auth`, the forward-auth check nginx makes on every request; these
 * series are rendered in the Prometheus text format (exposition format 0.0.4) at scrape time.
 *
 * Labels are route patterns (`/interaction/:uid`), never raw URLs, so an attacker cannot grow the
 * series without bound; the provider's catch-all route is labelled by oidc-provider's own
 * endpoint paths, anything else under it as `/*`.
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

/** Latency buckets in seconds (Prometheus' defaults, plus 2.5 ms for the cached forward-auth check). */
export const LATENCY_BUCKETS = [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** One method of one route: a latency histogram and a count per status. */
interface MethodSeries {
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket of {@link LATENCY_BUCKETS}; the last slot is +Inf. */
  buckets: Float64Array;
  byStatus: Map<number, number>;
}

/** The counters of one route label. */
export interface RouteSeries {
  readonly route: string;
  readonly byMethod: Map<string, MethodSeries>;
  /** The forward-auth check's series: its answers are also counted by result. */
  forwardAuth?: boolean;
}

/** What the forward-auth check answered, by status (oauth2-proxy's semantics). */
function forwardAuthResult(status: number): string {
  if (status === 202 || status === 200) return 'allowed';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  return 'error';
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const MARK = Symbol('gateway.httpMetricsHook');

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A route nginx calls on every request (`/oauth2/auth`): no per-request hook is added to it
     * (no metrics hook, no security headers); its handler counts itself with
     * {@link HttpMetrics.recordRoute}.
     */
    hotPath?: boolean;
    /**
     * A catch-all route names the endpoint each request reached (its label in metrics and in the
     * access log), instead of its own pattern `/*`.
     */
    routeLabel?: (url: string) => string;
  }
}

/** Request counters and latency histograms, per route pattern, method and status. */
export class HttpMetrics {
  readonly #routes = new Map<string, RouteSeries>();

  /** The series of a route label (created on first use; labels come from a fixed set). */
  series(route: string): RouteSeries {
    let series = this.#routes.get(route);
    if (!series) {
      series = { route, byMethod: new Map() };
      this.#routes.set(route, series);
    }
    return series;
  }

  /** Counts one answered request; `ms` is the time from arrival to the end of the response. */
  record(series: RouteSeries, method: string, status: number, ms: number): void {
    let m = series.byMethod.get(method);
    if (!m) {
      m = { count: 0, sum: 0, buckets: new Float64Array(LATENCY_BUCKETS.length + 1), byStatus: new Map() };
      series.byMethod.set(method, m);
    }
    const seconds = ms / 1000;
    m.count += 1;
    m.sum += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i += 1;
    m.buckets[i] = (m.buckets[i] ?? 0) + 1;
    m.byStatus.set(status, (m.byStatus.get(status) ?? 0) + 1);
  }

  /**
   * An `onRoute` hook: gives the route an `onResponse` hook bound to its own series. Routes
   * registered twice (Fastify's automatic HEAD route copies the GET route's hooks) get one.
   */
  onRoute = (routeOptions: RouteOptions): void => {
    if (routeOptions.config?.hotPath) return;
    const existing = routeOptions.onResponse;
    const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    if (hooks.some((hook) => (hook as { [MARK]?: boolean })[MARK])) return;
    const label = routeOptions.config?.routeLabel;
    const fixed = label ? undefined : this.series(routeOptions.url);
    const hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const series = fixed ?? this.series(label?.(request.raw.url ?? '/') ?? routeOptions.url);
      this.record(series, request.method, reply.statusCode, reply.elapsedTime);
      done();
    };
    (hook as { [MARK]?: boolean })[MARK] = true;
    routeOptions.onResponse = [...hooks, hook] as RouteOptions['onResponse'];
  };

  /** Counts one answer of the forward-auth check (a `hotPath` route), from its handler. */
  recordForwardAuthCheck(pattern: string, status: number, ms: number): void {
    const series = this.series(pattern);
    series.forwardAuth = true;
    this.record(series, 'GET', status, ms);
  }

  /** The series in the Prometheus text format. */
  render(): string {
    const requests = [
      '# HELP gateway_http_requests_total HTTP requests answered, by route pattern, method and status.',
      '# TYPE gateway_http_requests_total counter',
    ];
    const latency = [
      "# HELP gateway_http_request_duration_seconds Time from a request's arrival to the end of its response, by route pattern and method.",
      '# TYPE gateway_http_request_duration_seconds histogram',
    ];
    const forwardAuth = new Map<string, number>([
      ['allowed', 0],
      ['unauthenticated', 0],
      ['forbidden', 0],
      ['error', 0],
    ]);
    for (const series of this.#routes.values()) {
      const route = escapeLabel(series.route);
      for (const [method, m] of series.byMethod) {
        const labels = `method="${escapeLabel(method)}",route="${route}"`;
        for (const [status, count] of m.byStatus) {
          requests.push(`gateway_http_requests_total{${labels},status="${status}"} ${count}`);
          if (series.forwardAuth) {
            const result = forwardAuthResult(status);
            forwardAuth.set(result, (forwardAuth.get(result) ?? 0) + count);
          }
        }
        let cumulative = 0;
        LATENCY_BUCKETS.forEach((bound, index) => {
          cumulative += m.buckets[index] ?? 0;
          latency.push(`gateway_http_request_duration_seconds_bucket{${labels},le="${bound}"} ${cumulative}`);
        });
        latency.push(`gateway_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${m.count}`);
        latency.push(`gateway_http_request_duration_seconds_sum{${labels}} ${m.sum}`);
        latency.push(`gateway_http_request_duration_seconds_count{${labels}} ${m.count}`);
      }
    }
    const checks = [
      '# HELP gateway_forward_auth_checks_total Forward-auth checks (GET /oauth2/auth) by result: allowed (202), unauthenticated (401), forbidden (403), error.',
      '# TYPE gateway_forward_auth_checks_total counter',
    ];
    for (const [result, count] of forwardAuth)
      checks.push(`gateway_forward_auth_checks_total{result="${result}"} ${count}`);
    return `${requests.join('\n')}\n\n${latency.join('\n')}\n\n${checks.join('\n')}\n`;
  }
}
