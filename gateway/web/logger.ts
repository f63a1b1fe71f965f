/**
 * The one log stream (Fastify's pino). Secrets never reach it: credentials and cookies are
 * redacted, and request URLs are logged without their query string, where OAuth puts codes,
 * states and tokens (`/upstream/callback?code=…`, `/auth?…`).
 */
import type { FastifyServerOptions } from 'fastify';
import type { LogLevel } from '../../config/log-levels.ts';

export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-auth-request-access-token"]',
  'res.headers["set-cookie"]',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
  '*.client_secret',
  '*.password',
  // Credentials other grants and forms carry (token exchange, private_key_jwt, RFC 7592, logout, CSRF).
  '*.subject_token',
  '*.client_assertion',
  '*.registration_access_token',
  '*.logout_token',
  '*.id_token_hint',
  '*.csrf',
];

export function loggerOptions(level: LogLevel): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: {
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, path: request.url.split('?')[0], ip: request.ip, reqId: request.id };
      },
    },
  };
}
