import type { Account } from './account.js';
import { profileFor } from './profiles/index.js';
import type { ErrorSummary, LinkState, Snapshot } from './snapshot.js';

/**
 * One connected account as every review shows it (the editor's "Accounts" sidebar, MQTT
 * `<baseTopic>/links`, `GET account-link/links`): who it is, where it stands, when it needs a
 * person again. Built from the snapshot, so it never holds a secret.
 */
export interface LinkSummary {
  link: string;
  name: string;
  provider: string;
  state: LinkState;
  account: Account | null;
  token_expires_at: string | null;
  refresh_expires_at: string | null;
  last_refresh_at: string | null;
  error: ErrorSummary | null;
}

/** What a summary is made of: a `Link`, or anything with its name and snapshot. */
export interface Summarizable {
  readonly name: string;
  snapshot(): Snapshot;
}

/** The summary of one link. */
export function summarizeLink(link: Summarizable): LinkSummary {
  const s = link.snapshot();
  return {
    link: s.link,
    name: link.name,
    provider: s.provider,
    state: s.state,
    account: s.account,
    token_expires_at: s.token_expires_at,
    refresh_expires_at: s.refresh_expires_at,
    last_refresh_at: s.last_refresh_at,
    error: s.error,
  };
}

/** The summaries of `links`, ordered by slug, so every place lists them alike. */
export function summarizeLinks(links: Iterable<Summarizable>): LinkSummary[] {
  return [...links].map(summarizeLink).sort((a, b) => (a.link < b.link ? -1 : a.link > b.link ? 1 : 0));
}

/** One link as the people count sees it: the app it uses and whom it is linked to. */
export interface AppMember {
  link: string;
  provider: string;
  /** The app's client id at the provider (public: it is in every authorization request). */
  clientId: string;
  account: Account | null;
}

/** How many people are linked with one app (one client id of one provider). */
export interface AppPeople {
  provider: string;
  clientId: string;
  /** Different accounts linked through this app (a relink of the same person counts once). */
  people: number;
  /** How many people the provider lets the app link (Spotify's development mode: 5), or null. */
  limit: number | null;
  /** Slugs of the links using this app. */
  links: string[];
}

/**
 * Counts the people per app: links sharing a provider and client id are one app. A link whose
 * account is known counts its account once, however many links hold it; a link still waiting for
 * its first approval counts nobody yet.
 */
export function countAppPeople(members: Iterable<AppMember>): AppPeople[] {
  const apps = new Map<string, { app: AppPeople; accounts: Set<string> }>();
  for (const member of members) {
    const key = JSON.stringify([member.provider, member.clientId]);
    let entry = apps.get(key);
    if (!entry) {
      const app = { provider: member.provider, clientId: member.clientId, people: 0, limit: profileFor(member.provider)?.peopleLimit ?? null, links: [] };
      entry = { app, accounts: new Set() };
      apps.set(key, entry);
    }
    entry.app.links.push(member.link);
    if (member.account) entry.accounts.add(member.account.id);
    entry.app.people = entry.accounts.size;
  }
  return [...apps.values()]
    .map(({ app }) => ({ ...app, links: app.links.sort() }))
    .sort((a, b) => a.provider.localeCompare(b.provider, 'en') || a.clientId.localeCompare(b.clientId, 'en'));
}
