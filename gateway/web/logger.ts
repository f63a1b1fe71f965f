/**
 * The one log stream (Fastify's pino). Secrets never reach it: request URLs are logged without
 * their query string, where OAuth puts codes, states and tokens (`/upstream/callback?code=…`,
 * `/auth?…`), requests without their headers, and any field named like a credential is censored
 * wherever it sits in a line (down to three objects deep): `{"client":{"client_secret":"[redacted]"}}`.
 *
 * The censoring is a `formatters.log` pass of our own rather than pino's `redact` option: pino's
 * redaction ran on every line and on every request's child logger (Fastify makes one per request)
 * and cost about 20 µs and 30 KB of garbage each time, the largest single allocation of a token
 * request. This pass reads the keys of a line and copies only a line that holds a secret.
 */
import type { FastifyServerOptions } from 'fastify';
import type { LogLevel } from '../../config/log-levels.ts';

/** Field names whose values are credentials (compared in lower case). */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'x-auth-request-access-token',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'client_secret',
  'password',
  // Credentials other grants and forms carry (token exchange, private_key_jwt, RFC 7592, logout, CSRF).
  'subject_token',
  'client_assertion',
  'registration_access_token',
  'logout_token',
  'id_token_hint',
  'csrf',
]);

const CENSOR = '[redacted]';
/** How many objects deep a line is searched (`req.headers.authorization` is two below the line). */
const MAX_DEPTH = 3;
/** Keys whose values pino's serializers rewrite (req: method, path, ip; res: status; err: type, message, stack). */
const SERIALIZED = new Set(['req', 'res', 'err']);

/** `line` with every credential-named field censored: the same object when it holds none. */
export function censorSecrets(line: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(line)) {
    const value = line[key];
    let censored = value;
    if (SECRET_FIELDS.has(key.toLowerCase())) {
      // An error's `code` (ECONNRESET) is no credential, and lives on an Error, never walked.
      if (value !== undefined && value !== null) censored = CENSOR;
    } else if (
      depth < MAX_DEPTH &&
      typeof value === 'object' &&
      value !== null &&
      !(value instanceof Error) &&
      !(depth === 0 && SERIALIZED.has(key))
    ) {
      censored = Array.isArray(value)
        ? censorArray(value, depth + 1)
        : censorSecrets(value as Record<string, unknown>, depth + 1);
    }
    if (censored !== value) {
      copy ??= { ...line };
      copy[key] = censored;
    }
  }
  return copy ?? line;
}

function censorArray(values: unknown[], depth: number): unknown[] {
  let copy: unknown[] | undefined;
  values.forEach((value, i) => {
    if (typeof value !== 'object' || value === null || value instanceof Error || depth >= MAX_DEPTH) return;
    const censored = Array.isArray(value)
      ? censorArray(value, depth + 1)
      : censorSecrets(value as Record<string, unknown>, depth + 1);
    if (censored !== value) {
      copy ??= [...values];
      copy[i] = censored;
    }
  });
  return copy ?? values;
}

export function loggerOptions(level: LogLevel): FastifyServerOptions['logger'] {
  return {
    level,
    formatters: { log: censorSecrets },
    serializers: {
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, path: request.url.split('?')[0], ip: request.ip, reqId: request.id };
      },
    },
  };
}
