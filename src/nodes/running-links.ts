import { countAppPeople, summarizeLinks, type AppPeople, type Link, type LinkSummary } from '../core/index.js';

/**
 * The Links running in this runtime, by config node id, with the client id each uses: what the
 * review routes (`GET account-link/links`, `GET account-link/apps`) list.
 */
const running = new Map<string, { link: Link; clientId: string }>();

/** `link` runs for `nodeId` from now on. */
export function trackLink(nodeId: string, link: Link, clientId: string): void {
  running.set(nodeId, { link, clientId });
}

/** `link` stopped; a newer Link of the same node (a redeploy) stays listed. */
export function untrackLink(nodeId: string, link: Link): void {
  if (running.get(nodeId)?.link === link) running.delete(nodeId);
}

/** Every running link's summary, ordered by slug. */
export function runningSummaries(): LinkSummary[] {
  return summarizeLinks([...running.values()].map((entry) => entry.link));
}

/** People linked per app (client id) across the running links. */
export function runningApps(): AppPeople[] {
  return countAppPeople(
    [...running.values()].map(({ link, clientId }) => {
      const snapshot = link.snapshot();
      return { link: snapshot.link, provider: snapshot.provider, clientId, account: snapshot.account };
    }),
  );
}
