/**
 * Makes oidc-provider accept a client's previous secret during its grace period (see
 * previous-secrets.ts for what is kept and why).
 *
 * How: oidc-provider authenticates `client_secret_basic` and `client_secret_post` in one place
 * (lib/shared/client_auth.js), by awaiting `client.compareClientSecret(presented)`; nothing else
 * compares a presented secret (`client_secret_jwt`, which would use the secret as an HMAC key, is
 * not allowed by the gateway's policy). So this replaces that one method on this provider's own
 * Client class (a patch of oidc-provider's internals, in gateway/provider/oidc-provider-patches.ts;
 * each Provider instance has its own class, so no other provider is touched): the
 * current secret is compared first, exactly as before; only when it does not match are the
 * previous secrets looked up in the store. A request with the current secret therefore costs
 * nothing more, and every instance sees a rotation at once because the grace entries live in the
 * shared store, not in memory.
 *
 * A middleware in front of the token endpoint could do the same by rewriting credentials, but it
 * would have to parse the body before oidc-provider does and know every endpoint that
 * authenticates clients (token, introspection, revocation, PAR, ...); the model hook covers them
 * all by construction.
 */
import type Provider from 'oidc-provider';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { acceptOtherSecrets } from './oidc-provider-patches.ts';
import { matchesPreviousSecret } from '../clients/previous-secrets.ts';

export function acceptPreviousSecrets(provider: Provider, store: Store, sealing: Sealing): void {
  acceptOtherSecrets(provider, (clientId, presented) => matchesPreviousSecret(store, sealing, clientId, presented));
}
