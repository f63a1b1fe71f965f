/**
 * The admin API's OpenAPI 3.1 document, generated from the routes' own schemas as Fastify
 * registers them (an `onRoute` hook): what validates a request is what the document says, and a
 * route added with a schema is in it without anyone writing it twice. JSON Schema (Fastify's)
 * is OpenAPI 3.1's schema language, so schemas go in as they are.
 */
import type { RouteOptions } from 'fastify';

interface RouteSchema {
  summary?: string;
  description?: string;
  params?: { properties?: Record<string, object>; required?: string[] };
  querystring?: { properties?: Record<string, object>; required?: string[] };
  response?: Record<string, object & { description?: string }>;
}

export interface OpenApiCollector {
  /** For `app.addHook('onRoute', …)`: keeps every route with a schema under `prefix`. */
  onRoute(route: RouteOptions): void;
  document(): object;
}

export function openApiCollector(info: {
  title: string;
  version: string;
  prefix: string;
  scope: string;
}): OpenApiCollector {
  const paths: Record<string, Record<string, object>> = {};
  return {
    onRoute(route) {
      const schema = route.schema as RouteSchema | undefined;
      if (!schema || !route.url.startsWith(info.prefix) || route.url.endsWith('/openapi.json')) return;
      const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const parameters = [
        ...Object.entries(schema.params?.properties ?? {}).map(([name, s]) => ({
          name,
          in: 'path',
          required: true,
          schema: s,
        })),
        ...Object.entries(schema.querystring?.properties ?? {}).map(([name, s]) => ({
          name,
          in: 'query',
          required: schema.querystring?.required?.includes(name) ?? false,
          schema: s,
        })),
      ];
      const responses: Record<string, object> = Object.fromEntries(
        Object.entries(schema.response ?? {}).map(([status, { description, ...body }]) => [
          status,
          { description: description ?? status, content: { 'application/json': { schema: body } } },
        ]),
      );
      responses['401'] = { description: 'no valid machine token (RFC 6750 invalid_token)' };
      responses['403'] = { description: `a token without the ${info.scope} scope (insufficient_scope)` };
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue;
        paths[path] = {
          ...paths[path],
          [method.toLowerCase()]: {
            summary: schema.summary,
            ...(schema.description ? { description: schema.description } : {}),
            ...(parameters.length > 0 ? { parameters } : {}),
            responses,
            security: [{ machineToken: [info.scope] }],
          },
        };
      }
    },
    document() {
      return {
        openapi: '3.1.0',
        info: { title: info.title, version: info.version },
        paths,
        components: {
          securitySchemes: {
            machineToken: {
              type: 'oauth2',
              description: `A machine client's access token (client credentials, resource = the issuer) with ${info.scope}`,
              flows: { clientCredentials: { tokenUrl: '/token', scopes: { [info.scope]: 'the admin API' } } },
            },
          },
        },
      };
    },
  };
}
