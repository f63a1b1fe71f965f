/**
 * Development mode, as a Fastify plugin: the development IdP (the upstream, under DEV_IDP_PATH)
 * and the demo app, so a fresh clone signs in with no configuration at all.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { DevIdp } from '../dev/create-dev-idp.ts';
import { demoRoutes } from '../dev/demo-routes.ts';
import { mountUnderPrefix } from '../provider/mount-provider.ts';
import { DEV_IDP_PATH } from './set-up-upstream.ts';

export interface DevPartOptions {
  issuer: string;
  devIdp: DevIdp;
  /** The demo app's client secret (derived-secrets.ts). */
  demoClientSecret: string;
}

export const devPart: FastifyPluginAsync<DevPartOptions> = async (app, options) => {
  await mountUnderPrefix(app, DEV_IDP_PATH, options.devIdp.handler);
  await app.register(
    demoRoutes({
      issuer: options.issuer,
      clientSecret: options.demoClientSecret,
      secureCookies: options.issuer.startsWith('https://'),
    }),
  );
};
