/**
 * The one log stream (Fastify's pino). Secrets never reach it: request URLs are logged without
 * their query string, where OAuth puts codes, states and tokens (`/upstream/callback?code=…`,
 * `/auth?…`), requests without their headers, and any field named like a credential is censored
 * wherever it sits in a line (down to six objects deep), an error's properties included, wherever
 * the error is: `{"client":{"client_secret":"[redacted]"}}`, and for an object with a `toJSON`
 * method, in what that returns (what the line will hold). Not censored: child loggers' bindings
 * (pino applies no formatter to them; the gateway binds only Fastify's request id).
 *
 * The censoring is a `formatters.log` pass of our own rather than pino's `redact` option: pino's
 * redaction ran on every line and on every request's child logger (Fastify makes one per request)
 * and cost about 20 µs and 30 KB of garbage each time, the largest single allocation of a token
 * request. This pass reads the keys of a line and copies only a line that holds a secret.
 */
import type { FastifyServerOptions } from 'fastify';
import { err as serializeErr } from 'pino-std-serializers';
import type { LogLevel } from '../../config/log-levels.ts';

/**
 * Field names whose values are credentials, compared in lower case without `_` and `-`, so that
 * `client_secret`, `clientSecret` and `Client-Secret` are one name.
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  // Headers.
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'xauthrequestaccesstoken',
  // Tokens, codes and secrets of every grant and form (RFC 6749, 7009, 7521, 7591/7592, 7636,
  // 8628, 8693, OpenID Connect logout) and the gateway's own forms (CSRF).
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'idtokenhint',
  'logouttoken',
  'subjecttoken',
  'actortoken',
  'assertion',
  'clientassertion',
  'registrationaccesstoken',
  'code',
  'codeverifier',
  'devicecode',
  'usercode',
  'clientsecret',
  'password',
  'csrf',
]);

const CENSOR = '[redacted]';
/** How many objects deep a line is searched (`req.headers.authorization` is two below the line). */
const MAX_DEPTH = 6;
/**
 * Keys whose values pino's serializers rewrite (req: method, path, ip; res: status; err: below,
 * an Error; any other value of `err`, an array of errors say, is walked like the rest).
 */
const SERIALIZED = new Set(['req', 'res']);

/** Each key's verdict, worked out once (a line's keys are the code's own, a few hundred). */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 10_000;

function isSecretField(key: string): boolean {
  let secret = verdicts.get(key);
  if (secret === undefined) {
    secret = SECRET_FIELDS.has(key.toLowerCase().replace(/[-_]/g, ''));
    if (verdicts.size < MAX_VERDICTS) verdicts.set(key, secret);
  }
  return secret;
}

/**
 * `line` with every credential-named field censored: the same object when it holds none.
 * `keep` names fields left as they are at the top (an error's `code`: ECONNRESET is no secret).
 */
export function censorSecrets(
  line: Record<string, unknown>,
  depth = 0,
  keep?: ReadonlySet<string>,
): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(line)) {
    const value = line[key];
    let censored = value;
    if (isSecretField(key) && !keep?.has(key)) {
      if (value !== undefined && value !== null) censored = CENSOR;
    } else if (value instanceof Error && !(depth === 0 && key === 'err')) {
      // An error anywhere but the line's own `err` (which pino's serializer below handles):
      // written as that serializer writes it, censored the same way.
      censored = serializeError(value);
    } else if (
      depth < MAX_DEPTH &&
      typeof value === 'object' &&
      value !== null &&
      !(value instanceof Error) &&
      !(depth === 0 && SERIALIZED.has(key))
    ) {
      censored = censorObject(value, key, depth + 1);
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
    if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return;
    const censored = value instanceof Error ? serializeError(value) : censorObject(value, String(i), depth + 1);
    if (censored !== value) {
      copy ??= [...values];
      copy[i] = censored;
    }
  });
  return copy ?? values;
}

/**
 * An object or array censored: for an object with a `toJSON` method, what that returns, since that
 * is what the line will hold (JSON.stringify writes it instead of the object's own fields); the
 * object itself when nothing in it is a credential.
 */
function censorObject(value: object, key: string, depth: number): unknown {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    let json: unknown;
    try {
      json = toJSON.call(value, key);
    } catch {
      return value; // the line's serialisation meets the same error
    }
    if (typeof json !== 'object' || json === null) return value;
    // The result's own fields are written as they are (JSON.stringify calls toJSON once per value).
    const censored = Array.isArray(json)
      ? censorArray(json, depth)
      : censorSecrets(json as Record<string, unknown>, depth);
    return censored === json ? value : censored;
  }
  return Array.isArray(value) ? censorArray(value, depth) : censorSecrets(value as Record<string, unknown>, depth);
}

/** An error's own code and the serializer's fields are no credentials. */
const ERROR_FIELDS: ReadonlySet<string> = new Set(['type', 'message', 'stack', 'code']);

/** pino's own error serializer, its output censored as any line (a property, a cause's). */
function serializeError(error: Error): ReturnType<typeof serializeErr> {
  const serialized = serializeErr(error);
  if (typeof serialized !== 'object' || serialized === null) return serialized;
  return censorSecrets(serialized, 1, ERROR_FIELDS) as ReturnType<typeof serializeErr>;
}

export function loggerOptions(level: LogLevel): FastifyServerOptions['logger'] {
  return {
    level,
    // Not child loggers' bindings: pino applies no formatter to them. Fastify binds each
    // request's id; the gateway binds nothing else (never a credential in `.child()`).
    formatters: { log: censorSecrets },
    serializers: {
      err: serializeError,
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, path: request.url.split('?')[0], ip: request.ip, reqId: request.id };
      },
    },
  };
}
