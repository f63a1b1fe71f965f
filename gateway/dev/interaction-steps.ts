/**
 * The steps of an oidc-provider interaction (sign-in, consent) that an IdP serving its own pages
 * takes: read the posted form, answer with a page, grant what the client asked for, and hand the
 * result back to oidc-provider. The development IdP takes them; so does the tests' fake Google.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { errors } from 'oidc-provider';
import type { Interaction, InteractionResults } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { BodyTooLargeError, readBoundedBody } from '../web/read-bounded-body.ts';

/** The Koa context oidc-provider hands the middlewares of `provider.use()`. */
export type InteractionContext = Parameters<Parameters<Provider['use']>[0]>[0];

/** A sign-in form is a few short fields; anything larger is no form of ours. */
const MAX_FORM_BYTES = 16 * 1024;

/** The posted `application/x-www-form-urlencoded` body; `invalid_request` when it is too large. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  try {
    return new URLSearchParams((await readBoundedBody(req, MAX_FORM_BYTES)).toString('utf8'));
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new errors.InvalidRequest('form too large');
    throw error;
  }
}

/** Answers with an HTML page (under the Content-Security-Policy the edge middleware has set). */
export function sendPage(ctx: InteractionContext, status: number, html: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = html;
}

/** Saves the interaction's result and sends the browser back to the authorization endpoint. */
export async function finishInteraction(
  provider: Provider,
  ctx: InteractionContext,
  result: InteractionResults,
): Promise<void> {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

/**
 * Grants `accountId` what the client asked for, out of `scopes` (those the IdP offers), and returns
 * the grant's id. At sign-in the consent prompt has not been evaluated yet, so the requested scopes
 * are granted; on a consent prompt, also what it reports as missing.
 */
export async function grantRequested(
  provider: Provider,
  details: Interaction,
  accountId: string,
  scopes: readonly string[],
): Promise<string> {
  const clientId = String(details.params['client_id']);
  const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
  const grant =
    existing !== undefined && existing.accountId === accountId && existing.clientId === clientId
      ? existing
      : new provider.Grant({ accountId, clientId });
  const requested = String(details.params['scope'] ?? '')
    .split(' ')
    .filter((scope) => scopes.includes(scope));
  const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
  grant.addOIDCScope(Array.isArray(missingOIDCScope) ? [...requested, ...missingOIDCScope.map(String)] : requested);
  if (Array.isArray(missingOIDCClaims)) grant.addOIDCClaims(missingOIDCClaims.map(String));
  return grant.save();
}
