/**
 * The upstream client, measured: each call to the upstream identity provider (code exchange,
 * userinfo, refresh, and the discovery behind them) is counted by outcome and timed, for
 * `/metrics` (`gateway_upstream_requests_total`, `gateway_upstream_request_duration_seconds`).
 * Results and errors pass through unchanged.
 */
import { inSpan } from '../ops/tracing.ts';
import type { UpstreamClient } from './upstream-client.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';

type Operation = 'discovery' | 'code_exchange' | 'userinfo' | 'refresh';

/** Wraps `upstream` so that each call is timed and counted. */
export function instrumentUpstream(
  upstream: UpstreamClient,
  metrics: Pick<GatewayMetrics, 'upstreamRequests' | 'upstreamDuration'>,
): UpstreamClient {
  async function measure<T>(operation: Operation, run: () => Promise<T>): Promise<T> {
    // A child span of the request's when tracing is on (ops/tracing.ts): which upstream, which call.
    return inSpan(`upstream.${operation}`, { 'gateway.upstream.issuer': upstream.settings.issuer }, () =>
      timed(operation, run),
    );
  }
  async function timed<T>(operation: Operation, run: () => Promise<T>): Promise<T> {
    const end = metrics.upstreamDuration.startTimer({ operation });
    try {
      const result = await run();
      metrics.upstreamRequests.inc({ operation, outcome: 'ok' });
      return result;
    } catch (error) {
      metrics.upstreamRequests.inc({ operation, outcome: 'error' });
      throw error;
    } finally {
      end();
    }
  }
  // Discovery is cached by the client: only a call that actually fetches is measured, which is
  // the first one and every one after a failure.
  let discovered: Promise<void> | undefined;
  const discover = () => {
    discovered ??= measure('discovery', () => upstream.discover()).catch((error: unknown) => {
      discovered = undefined;
      throw error;
    });
    return discovered;
  };
  return {
    settings: upstream.settings,
    discover,
    async authorizationUrl(parameters) {
      await discover();
      return upstream.authorizationUrl(parameters);
    },
    async exchangeCode(callbackUrl, checks) {
      await discover();
      return measure('code_exchange', () => upstream.exchangeCode(callbackUrl, checks));
    },
    async userinfo(accessToken, expectedSub) {
      await discover();
      return measure('userinfo', () => upstream.userinfo(accessToken, expectedSub));
    },
    async refresh(refreshToken) {
      await discover();
      return measure('refresh', () => upstream.refresh(refreshToken));
    },
  };
}
