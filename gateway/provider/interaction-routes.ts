/**
 * The interactions oidc-provider hands to the gateway (`interactions.url`): sign-in goes to the
 * upstream (Google), or with several upstreams to a page that lists them unless the app named
 * one (`upstream=<id>`); consent is shown for third-party clients. The interaction is bound to the
 * browser by oidc-provider's interaction cookie (SameSite=Lax, path-scoped to the uid), so a
 * cross-site form post cannot confirm someone else's consent.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import { findAccountBySub } from '../accounts/account-store.ts';
import { GatewayError } from '../web/errors.ts';
import { CSRF_FIELD, type CsrfGuard } from '../web/csrf.ts';
import { renderConsentPage } from '../web/pages/consent-page.ts';
import { renderUpstreamChooser } from '../web/pages/upstream-chooser-page.ts';
import { beginUpstreamLogin, type UpstreamLoginDeps } from '../upstream/upstream-login.ts';
import { signedInThrough } from '../upstream/signed-in-through.ts';
import type { Upstream } from '../upstream/upstreams.ts';
import { INTERACTION_PATH } from './create-provider.ts';

export interface InteractionDeps {
  provider: Provider;
  store: Store;
  upstreamLogin: UpstreamLoginDeps;
  /** CSRF tokens of the consent forms (gateway/web/csrf.ts). */
  csrf: CsrfGuard;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

async function details(
  provider: Provider,
  request: FastifyRequest,
  reply: { raw: import('node:http').ServerResponse },
): Promise<Details> {
  try {
    return await provider.interactionDetails(request.raw, reply.raw);
  } catch (error) {
    if (error instanceof errors.SessionNotFound || error instanceof errors.InvalidRequest) {
      throw new GatewayError(
        'invalid_request',
        400,
        'This sign-in has expired or was opened in another browser. Please start again from the app.',
      );
    }
    throw error;
  }
}

function checkUid(request: FastifyRequest, interaction: Details): void {
  const { uid } = request.params as { uid: string };
  if (uid !== interaction.uid)
    throw new GatewayError(
      'invalid_request',
      400,
      'This sign-in does not match your browser session. Please start again.',
    );
}

/** The consent forms' CSRF check: their token, and no post from another site. */
function checkCsrf(csrf: CsrfGuard, request: FastifyRequest, interaction: Details): void {
  const token = (request.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
  if (csrf.check(request.headers, 'consent', interaction.uid, token)) {
    throw new GatewayError(
      'invalid_request',
      403,
      'This form did not come from this sign-in page, or has expired. Please start again from the app.',
    );
  }
}

export function interactionRoutes(deps: InteractionDeps) {
  /** The upstreams this interaction's app accepts (its `allowed_upstreams`; every one when it has none). */
  async function offeredUpstreams(interaction: Details): Promise<readonly Upstream[]> {
    const { list } = deps.upstreamLogin.upstreams;
    const client = await deps.provider.Client.find(String(interaction.params['client_id']));
    const allowed = client?.metadata()['allowed_upstreams'];
    return Array.isArray(allowed) ? list.filter((u) => allowed.includes(u.config.id)) : list;
  }

  /** Sends the browser to sign in at `upstream` for this interaction. */
  function signInAt(upstream: Upstream, interaction: Details, reply: FastifyReply) {
    const hint = interaction.params['login_hint'];
    return beginUpstreamLogin(deps.upstreamLogin, reply, {
      upstream,
      uid: interaction.uid,
      forceConsent: false,
      loginHint: typeof hint === 'string' ? hint : undefined,
    });
  }

  return async function routes(app: FastifyInstance) {
    // The consent forms post no fields; accept their (empty) urlencoded body.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    // Each visit may write a sign-in transaction (beginUpstreamLogin): a sign-in step.
    app.get(`${INTERACTION_PATH}/:uid`, { config: { regulation: 'sign-in-step' } }, async (request, reply) => {
      const interaction = await details(deps.provider, request, reply);
      checkUid(request, interaction);
      reply.header('cache-control', 'no-store');
      if (interaction.prompt.name === 'login') {
        const offered = await offeredUpstreams(interaction);
        if (offered.length === 0)
          throw new GatewayError(
            'invalid_client',
            400,
            'This app accepts none of the sign-in providers configured here.',
          );
        // One upstream, or the app named one (`upstream=<id>`, checked at /auth): go straight there.
        const named = interaction.params['upstream'];
        const chosen =
          offered.length === 1 ? offered[0] : offered.find((u) => typeof named === 'string' && u.config.id === named);
        if (chosen) return signInAt(chosen, interaction, reply);
        return reply.type('text/html; charset=utf-8').send(
          renderUpstreamChooser(request.headers['accept-language'], {
            uid: interaction.uid,
            upstreams: offered.map((u) => ({ id: u.config.id, name: u.config.name })),
          }),
        );
      }
      const client = await deps.provider.Client.find(String(interaction.params['client_id']));
      if (!client) throw new GatewayError('invalid_client', 400, 'The app that sent you here is not registered.');
      const account = interaction.session?.accountId
        ? await findAccountBySub(deps.store, interaction.session.accountId)
        : undefined;
      // What the app would be granted, in the order it asked: scopes the gateway does not know
      // are dropped from its tokens, so they are not put before the user either.
      const pending = interaction.prompt.details as {
        missingOIDCScope?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      const granted = new Set([
        ...(pending.missingOIDCScope ?? []),
        ...Object.values(pending.missingResourceScopes ?? {}).flat(),
      ]);
      const requested = String(interaction.params['scope'] ?? 'openid')
        .split(' ')
        .filter((scope) => granted.has(scope));
      const scopes = requested.length > 0 ? [...new Set(requested)] : ['openid'];
      return reply.type('text/html; charset=utf-8').send(
        renderConsentPage(request.headers['accept-language'], {
          uid: interaction.uid,
          clientName: client.clientName ?? client.clientId,
          scopes,
          accountLabel: account?.email ?? account?.preferred_username,
          returnHost: URL.parse(String(interaction.params['redirect_uri'] ?? ''))?.host,
          csrfToken: deps.csrf.token('consent', interaction.uid),
          // Whose token `upstream_token` would hand out, with several: this session's upstream.
          upstreamName:
            deps.upstreamLogin.upstreams.list.length > 1
              ? deps.upstreamLogin.upstreams.byId(signedInThrough(interaction.session?.amr) ?? '')?.config.name
              : undefined,
        }),
      );
    });

    // The sign-in page's choice: a link per upstream (upstream-chooser-page.ts).
    app.get(
      `${INTERACTION_PATH}/:uid/upstream/:upstream`,
      { config: { regulation: 'sign-in-step' } },
      async (request, reply) => {
        const interaction = await details(deps.provider, request, reply);
        checkUid(request, interaction);
        reply.header('cache-control', 'no-store');
        const id = (request.params as { upstream: string }).upstream;
        const upstream = (await offeredUpstreams(interaction)).find((u) => u.config.id === id);
        if (!upstream)
          throw new GatewayError('invalid_request', 404, 'There is no such sign-in provider. Please start again.');
        if (interaction.prompt.name !== 'login')
          throw new GatewayError(
            'invalid_request',
            400,
            'This sign-in needs no provider any more. Please start again.',
          );
        return signInAt(upstream, interaction, reply);
      },
    );

    app.post(`${INTERACTION_PATH}/:uid/confirm`, { config: { regulation: 'refusable' } }, async (request, reply) => {
      const interaction = await details(deps.provider, request, reply);
      checkUid(request, interaction);
      checkCsrf(deps.csrf, request, interaction);
      if (interaction.prompt.name !== 'consent' || !interaction.session?.accountId) {
        throw new GatewayError('invalid_request', 400, 'There is nothing to confirm for this sign-in.');
      }
      const { Grant } = deps.provider;
      const grant = interaction.grantId
        ? await Grant.find(interaction.grantId)
        : new Grant({ accountId: interaction.session.accountId, clientId: String(interaction.params['client_id']) });
      if (!grant) throw new GatewayError('invalid_request', 400, 'This sign-in has expired. Please start again.');
      const missing = interaction.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      reply.hijack();
      await deps.provider.interactionFinished(
        request.raw,
        reply.raw,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    });

    app.post(`${INTERACTION_PATH}/:uid/abort`, { config: { regulation: 'refusable' } }, async (request, reply) => {
      const interaction = await details(deps.provider, request, reply);
      checkUid(request, interaction);
      checkCsrf(deps.csrf, request, interaction);
      reply.hijack();
      await deps.provider.interactionFinished(
        request.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'The user denied the request.' },
        { mergeWithLastSubmission: false },
      );
    });
  };
}
