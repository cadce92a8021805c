import type { Account } from './account.js';
import { LinkError } from './errors.js';

/** True when a relink signed in as someone other than the linked account (both known). */
export function isAccountChange(previous: Account | null, next: Account | null): boolean {
  return Boolean(previous && next && previous.id !== next.id);
}

/** Why a relink as another account was refused, and the ways to switch accounts on purpose. */
export function accountChangeRefused(provider: string, previous: Account, next: Account): LinkError {
  return new LinkError(
    'account_changed',
    `This link belongs to ${previous.name}, but the sign-in at ${provider} was as ${next.name}. The link was kept as it was. ` +
      'To switch accounts, use "Link a different account" (or start with replace_account: true), ' +
      'or set the account-link node\'s "Account change" to "allow".',
  );
}
