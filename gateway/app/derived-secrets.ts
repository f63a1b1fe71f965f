/**
 * Secrets of the gateway's own clients, derived from its first secret, so that neither the
 * development IdP nor forward auth nor the demo app needs configuration, and every instance
 * sharing GATEWAY_SECRETS derives the same ones.
 */
import { createHmac } from 'node:crypto';

export interface DerivedSecrets {
  /** The gateway as a client of the development IdP (dev mode). */
  devIdpClient: string;
  /** The demo app as a client of the gateway (dev mode). */
  demoClient: string;
  /** Forward auth as a client of the gateway. */
  forwardAuthClient: string;
}

function derive(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(purpose).digest('base64url');
}

export function derivedSecrets(secret: string): DerivedSecrets {
  return {
    devIdpClient: derive(secret, 'dev-idp upstream client'),
    demoClient: derive(secret, 'demo app client'),
    forwardAuthClient: derive(secret, 'forward-auth client'),
  };
}
