/**
 * The failure-based limits (gateway/ops/regulation.ts), shared by every instance through the
 * store, with the figures from the configuration. A refusal is counted in the metrics and written
 * as an audit event.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { startRegulation, type Regulation } from '../ops/regulation.ts';
import { DEVICE_CODE_FAILURES, type ProviderLimits } from '../provider/provider-regulation.ts';
import { audit } from '../web/audit.ts';

export interface Limits {
  regulation: Regulation;
  limits: ProviderLimits;
}

export async function startLimits(
  app: FastifyInstance,
  config: Config,
  store: Store,
  metrics: GatewayMetrics,
): Promise<Limits> {
  const regulation = await startRegulation(store, {
    log: app.log,
    onRefused: (limit, key) => {
      metrics.rateLimited.inc({ limit: limit.name });
      audit(
        app.log,
        'limit.refused',
        { limit: limit.name, key },
        'too many failures or sign-ins: refused until the window ends',
      );
    },
  });
  app.addHook('onClose', async () => regulation.stop());
  const failureWindowMs = config.regulation.failureWindow * 1000;
  const limits = {
    clientFailures: { name: 'client_failures', max: config.regulation.clientFailures, windowMs: failureWindowMs },
    addressFailures: { name: 'address_failures', max: config.regulation.addressFailures, windowMs: failureWindowMs },
    signIns: { name: 'sign_in_steps', max: config.regulation.signInSteps, windowMs: 60_000 },
    registrations: { name: 'registrations', max: config.regulation.registrations, windowMs: 3_600_000 },
    // Wrong device user codes (RFC 8628 §5.1): guessing one is the attack, so few per address.
    userCodes: { name: 'user_code_failures', max: DEVICE_CODE_FAILURES, windowMs: failureWindowMs },
  } as const;
  return { regulation, limits };
}
