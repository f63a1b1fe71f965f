/**
 * `npx gateway users sign-out SUB`: ends every session of one user with the gateway's one
 * sign-out (cli-sign-out.ts), on the store the running gateways share. An audit event goes to
 * stderr as a JSON line, and so does a logout token that could not be delivered.
 *
 * `npx gateway users link SUB UPSTREAM_ID:UPSTREAM_SUB`: another upstream identity signs in as
 * this account (account-store.ts's linkIdentity), with an audit event.
 */
import type { Config } from '../../config/config-type.ts';
import type { CliIo } from './cli-command.ts';
import { noSuchAccount, withCliStore } from './with-cli-store.ts';
import { cliActor, cliLog } from './cli-log.ts';
import { audit } from '../web/audit.ts';
import { findAccountBySub, linkIdentity } from '../accounts/account-store.ts';
import { parseCommandArgs, UsageError } from './parse-command-args.ts';
import { createCliSignOut } from './cli-sign-out.ts';

/**
 * Runs `users sign-out SUB` (its usage: users-cli.ts) and returns the exit code; bad input throws
 * a UsageError before the store is opened.
 */
export async function runUsersSignOut(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, ['SUB']);
  const sub = parsed.positionals[0] ?? '';
  return withCliStore(config, io, async (store) => {
    if (!(await findAccountBySub(store, sub))) return noSuchAccount(io, sub);
    const log = cliLog(io, config.logLevel);
    // Deliveries are counted on stdout; only a failure (warn) needs a line of its own.
    const signOut = await createCliSignOut(config, store, { info() {}, warn: log.warn });
    const result = await signOut.signOutAccount(sub);
    audit(
      log,
      'account.signed_out',
      { sub, actor: cliActor(), ...result, at: new Date().toISOString() },
      'every session of the account ended',
    );
    io.stdout(
      parsed.values.json
        ? `${JSON.stringify(result)}\n`
        : `signed out: ${result.sessions} session(s), ${result.grants} grant(s) revoked, ${result.forwardAuthSessions} forward-auth session(s) ended, ${result.backchannelLogouts} app(s) sent a logout token\n`,
    );
    return 0;
  });
}

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ENTRA_SUBJECT = new RegExp(`^${GUID}:${GUID}$`);

/**
 * Why `upstreamSub` is no subject the upstream of `type` ever gives (a link to it would never
 * match a sign-in), or undefined. Entra's is the gateway's `<tenant id>:<object id>`, not the ID
 * token's pairwise `sub`; GitHub's is the numeric user id, not the login.
 */
function identityShapeProblem(type: string, upstreamSub: string): string | undefined {
  if (upstreamSub.length > 255 || /\s/.test(upstreamSub)) return 'a subject has no spaces and at most 255 characters';
  if (type === 'microsoft' && !ENTRA_SUBJECT.test(upstreamSub))
    return 'a Microsoft subject is <tenant id>:<object id> (oid), both lower-case GUIDs';
  if (type === 'github' && !/^[1-9][0-9]{0,15}$/.test(upstreamSub))
    return "a GitHub subject is the user's numeric id (GET /users/<login> shows it), not the login";
  return undefined;
}

/** Runs `users link SUB UPSTREAM_ID:UPSTREAM_SUB` (its usage: users-cli.ts) and returns the exit code. */
export async function runUsersLink(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, {}, ['SUB', 'UPSTREAM_ID:UPSTREAM_SUB']);
  const [sub = '', identity = ''] = parsed.positionals;
  const colon = identity.indexOf(':');
  if (colon <= 0 || colon === identity.length - 1)
    throw new UsageError(`the identity must be UPSTREAM_ID:UPSTREAM_SUB, not ${JSON.stringify(identity)}`);
  const upstreamId = identity.slice(0, colon);
  const upstreamSub = identity.slice(colon + 1);
  const upstream = config.upstreams.find((u) => u.id === upstreamId);
  if (!upstream) {
    const known = config.upstreams.map((u) => u.id).join(', ') || 'none: GATEWAY_UPSTREAMS is not set';
    io.stderr(`gateway: no upstream with id ${JSON.stringify(upstreamId)} (configured: ${known})\n`);
    return 1;
  }
  const shapeProblem = identityShapeProblem(upstream.type, upstreamSub);
  if (shapeProblem !== undefined) {
    io.stderr(`gateway: ${upstreamId}:${upstreamSub.slice(0, 80)} can never sign in: ${shapeProblem}\n`);
    return 1;
  }
  return withCliStore(config, io, async (store) => {
    if (!(await findAccountBySub(store, sub))) return noSuchAccount(io, sub);
    const outcome = await linkIdentity(store, sub, { iss: upstream.issuer, sub: upstreamSub });
    if (!outcome.linked) {
      io.stderr(
        `gateway: ${upstreamId}:${upstreamSub} already signs in as account ${outcome.belongsTo}; nothing was changed\n`,
      );
      return 1;
    }
    audit(
      cliLog(io, config.logLevel),
      'account.linked',
      { sub, upstream: upstream.issuer, upstream_id: upstreamId, upstream_sub: upstreamSub, actor: cliActor() },
      'an upstream identity was linked to the account',
    );
    io.stdout(`linked: ${upstreamId}:${upstreamSub} now signs in as ${sub}\n`);
    return 0;
  });
}
