/**
 * A `fetch` for openid-client that reaches the gateway's own OpenID Provider in process
 * (Fastify's `inject`), so forward auth is a real OAuth client of the gateway without a network
 * round trip, and without depending on the public issuer URL being reachable from the gateway.
 */
import type { FastifyInstance } from 'fastify';
import type { CustomFetch } from 'openid-client';
import { IN_PROCESS_HEADER, IN_PROCESS_TOKEN } from '../provider/mount-provider.ts';

export function inProcessFetch(app: FastifyInstance, issuer: string): CustomFetch {
  const issuerUrl = new URL(issuer);
  return async (url, options) => {
    const target = new URL(url);
    const headers: Record<string, string> = { ...(options.headers as Record<string, string>), host: issuerUrl.host };
    // Issuer-relative URLs in the answers (discovery) must carry the public scheme.
    headers['x-forwarded-proto'] = issuerUrl.protocol.slice(0, -1);
    headers[IN_PROCESS_HEADER] = IN_PROCESS_TOKEN;
    const response = await app.inject({
      method: options.method as 'GET' | 'POST',
      url: `${target.pathname}${target.search}`,
      headers,
      ...(options.body === undefined || options.body === null ? {} : { payload: String(options.body) }),
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, String(item));
    }
    const noBody = response.statusCode === 204 || response.statusCode === 304;
    return new Response(noBody ? null : response.rawPayload, { status: response.statusCode, headers: responseHeaders });
  };
}
