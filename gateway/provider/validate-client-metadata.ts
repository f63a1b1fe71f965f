/**
 * Checks the gateway's own client metadata (beside what oidc-provider validates):
 * `first_party` (boolean: consent skipped) and `resources` (absolute URIs the client may ask
 * access tokens for, RFC 8707).
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

export function validateClientMetadata(_ctx: KoaContextWithOIDC | undefined, key: string, value: unknown): void {
  if (key === 'first_party' && value !== undefined && typeof value !== 'boolean') {
    throw new errors.InvalidClientMetadata('first_party must be a boolean');
  }
  if (key === 'resources' && value !== undefined) {
    if (!Array.isArray(value)) throw new errors.InvalidClientMetadata('resources must be an array of absolute URIs');
    for (const resource of value) {
      let url: URL;
      try {
        url = new URL(String(resource));
      } catch {
        throw new errors.InvalidClientMetadata(`resources: ${String(resource)} is not an absolute URI`);
      }
      if (url.hash) throw new errors.InvalidClientMetadata('resources must not contain a fragment');
    }
  }
}
