/**
 * Disabling an account, as the CLI (`users disable|enable`) and the admin API both do it: the
 * account refused from now on (account-store.ts setAccountDisabled), every session and grant it
 * has ended at once by the one sign-out, and an audit event naming who did it.
 */
import type { Store } from '../../adapters/store.ts';
import { setAccountDisabled } from '../accounts/account-store.ts';
import { type AuditSink, audit } from '../web/audit.ts';
import type { SignOut, SignOutResult } from './sign-out.ts';

/** What was done; undefined when there is no such account. */
export async function setDisabled(
  deps: { store: Store; signOut: Pick<SignOut, 'signOutAccount'>; log: AuditSink },
  sub: string,
  disable: boolean,
  actor: object,
): Promise<({ sub: string; disabled: boolean } & Partial<SignOutResult>) | undefined> {
  if (!(await setAccountDisabled(deps.store, sub, disable))) return undefined;
  const ended = disable ? await deps.signOut.signOutAccount(sub) : undefined;
  audit(
    deps.log,
    disable ? 'account.disabled' : 'account.enabled',
    { sub, actor, ...ended, at: new Date().toISOString() },
    disable ? 'the account was disabled and its sessions ended' : 'the account was enabled',
  );
  return { sub, disabled: disable, ...ended };
}
