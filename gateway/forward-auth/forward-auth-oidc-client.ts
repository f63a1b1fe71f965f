/**
 * Forward auth is a real OAuth client of the gateway's own provider (openid-client), reached in
 * process (in-process-fetch.ts). Discovery runs on first use, not at start, because the provider
 * is mounted after this face; a failed discovery is forgotten so the next request tries again
 * instead of failing forever.
 */
import type { FastifyInstance } from 'fastify';
import * as openidClient from 'openid-client';
import { inProcessFetch } from './in-process-fetch.ts';

export interface ForwardAuthOidcClientOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export function forwardAuthOidcClient(
  app: FastifyInstance,
  options: ForwardAuthOidcClientOptions,
): () => Promise<openidClient.Configuration> {
  const fetchInProcess = inProcessFetch(app, options.issuer);
  let discovered: Promise<openidClient.Configuration> | undefined;
  return () => {
    discovered ??= openidClient
      .discovery(
        new URL(options.issuer),
        options.clientId,
        options.clientSecret,
        openidClient.ClientSecretBasic(options.clientSecret),
        {
          [openidClient.customFetch]: fetchInProcess,
          execute: options.issuer.startsWith('http://') ? [openidClient.allowInsecureRequests] : [],
        },
      )
      .then((configuration) => {
        // Discovery's option covers discovery only: every later call goes in process too.
        configuration[openidClient.customFetch] = fetchInProcess;
        return configuration;
      })
      .catch((error: unknown) => {
        discovered = undefined;
        throw error;
      });
    return discovered;
  };
}
