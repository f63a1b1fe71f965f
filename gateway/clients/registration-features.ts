/**
 * oidc-provider's dynamic registration features, configured from the gateway's settings:
 *
 * - RFC 7591 registration at `/reg`, advertised as `registration_endpoint` in discovery, only when
 *   `GATEWAY_REGISTRATION_TOKEN` is set. That value is the initial access token (RFC 7591 §3):
 *   oidc-provider compares it in constant time, and a missing or wrong one is answered with 401
 *   `invalid_token` and a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3.1).
 * - RFC 7592 management at `/reg/<client_id>`: read, update (full replacement) and delete with the
 *   registration access token handed out at registration, which is rotated on every update so a
 *   leaked old one stops working.
 *
 * The policy itself (check-client-policy.ts) runs from the provider's `extraClientMetadata`
 * validator (check-registration-request.ts), so a refused request never reaches the store; the
 * provider writes a client only after its whole schema has passed.
 */
import type { Configuration } from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import { generateClientId, generateClientSecret } from './generate-client-secret.ts';

type Features = NonNullable<Configuration['features']>;

export function registrationFeatures(
  config: Pick<Config, 'registrationToken'>,
): Pick<Features, 'registration' | 'registrationManagement'> {
  const token = config.registrationToken;
  if (token === undefined) return { registration: { enabled: false }, registrationManagement: { enabled: false } };
  return {
    registration: {
      enabled: true,
      initialAccessToken: token,
      issueRegistrationAccessToken: true,
      secretFactory: generateClientSecret,
      // Not oidc-provider's nanoid, which can start with `-` (an option to the CLI).
      idFactory: generateClientId,
    },
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
  };
}
