/**
 * The one error every Store backend throws when the store itself fails (Redis down, stalled,
 * loading its AOF after a restart, a cluster without a master for some slots, SQLite busy past
 * its timeout, a store closed during shutdown), as opposed to a caller's mistake (TypeError,
 * RangeError: a bug, thrown as is).
 *
 * It is shaped as oidc-provider's own error, status 503 and error `temporarily_unavailable` (the
 * code RFC 6749 §4.1.2.1 gives a server that is "temporarily unable to handle the request"), and
 * exposed, so that wherever a store call fails inside oidc-provider (its Adapter, but also
 * findAccount, the claims hooks, client lookups, which call the store directly) the provider
 * answers 503 `{"error":"temporarily_unavailable"}` instead of 500 `server_error`, with no
 * translation at each call site. The gateway's own routes map it by class in gateway/web/errors.ts.
 *
 * `message` is the error code, as oidc-provider's err_out reads it; what went wrong is in
 * `error_detail` (for logs, never sent) and in `cause`.
 */
import { errors } from 'oidc-provider';

/** What a client is told; nothing about the backend. */
const DESCRIPTION = 'The service is temporarily unavailable. Please try again in a moment.';

/** The store did not answer or refused for a reason that should pass (see the file header). */
export class StoreUnavailableError extends errors.OIDCProviderError {
  /** A stable code for the gateway's own error handler. */
  readonly code = 'store_unavailable';

  constructor(detail: string, options: { cause?: unknown } = {}) {
    super(503, 'temporarily_unavailable', { detail, ...(options.cause === undefined ? {} : { cause: options.cause }) });
    this.name = 'StoreUnavailableError';
    this.error_description = DESCRIPTION;
    // oidc-provider hides errors >= 500 as server_error; this one is meant for the client.
    this.expose = true;
    // Not a reason to send the user agent back to the client with an error (RFC 6749 §4.1.2.1
    // would allow it, but a retry a moment later at the gateway is the better experience).
    this.allow_redirect = false;
  }
}

/**
 * Runs `call` and turns whatever it throws into a {@link StoreUnavailableError}, except the
 * errors that are bugs rather than outages: the store's own input checks (TypeError,
 * RangeError) and stored text that does not parse (SyntaxError).
 */
export async function storeCall<T>(detail: string, call: () => Promise<T> | T): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asStoreError(detail, error);
  }
}

/** See {@link storeCall}. */
export function asStoreError(detail: string, error: unknown): Error {
  if (
    error instanceof StoreUnavailableError ||
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof SyntaxError
  ) {
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`${detail}: ${reason}`, { cause: error });
}
