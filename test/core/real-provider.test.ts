import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import type { Link } from '../../src/core/link.js';
import type { ProviderSettings } from '../../src/core/providers.js';
import { makeLink, nextEvent, useRealProvider } from '../helpers/core-fixtures.js';
import { FaultProxy } from '../helpers/faults-proxy.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { DEVICE_CODE_GRANT, startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';

const DAY = 24 * 3600_000;

/** The linking engine against a real authorization server (oidc-provider) on loopback. */
describe('core: Link against a real OIDC provider', function () {
  const suite = useRealProvider({ accessTokenTtl: 60 });
  const { links } = suite;
  let provider: TestProvider;
  let clock: ManualClock;
  beforeEach(() => ({ provider, clock } = suite));

  function settings(overrides: Partial<ProviderSettings> = {}): ProviderSettings {
    return { provider: 'oidc', issuer: provider.issuer, clientId: provider.clientId, ...overrides };
  }

  async function newLink(overrides: Partial<ProviderSettings> = {}, store?: import('../../src/core/store.js').TokenStore) {
    const made = await makeLink({ settings: settings(overrides), clock, store });
    links.push(made.link);
    await made.link.load();
    return made;
  }

  /** Starts linking, approves on the provider's pages, lets the next poll collect the tokens. */
  async function linkAs(link: Link, accountId = 'alice') {
    const { pending, finished } = await link.start();
    assert.ok(pending.user_code);
    await provider.approveDevice(pending.user_code, { accountId });
    await clock.advance(5_000);
    return finished;
  }

  it('approve → linked with the account name from userinfo', async () => {
    const { link, rec } = await newLink();
    const { pending, finished } = await link.start();
    assert.equal(pending.state, 'pending');
    assert.match(pending.user_code ?? '', /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(pending.verification_uri, `${provider.issuer}/device`);
    assert.ok(pending.prompt?.includes(pending.user_code!));
    assert.ok(pending.code_expires_at);

    // Two polls while the person is still busy, then approval.
    for (let poll = 0; poll < 2; poll++) {
      await clock.waitForTimers(1);
      await clock.advanceToNext();
    }
    await clock.waitForTimers(1);
    assert.equal(provider.count(DEVICE_CODE_GRANT), 2);
    assert.deepEqual(
      provider.requests.map((r) => r.error),
      ['authorization_pending', 'authorization_pending'],
    );
    await provider.approveDevice(pending.user_code!, { accountId: 'alice' });
    await clock.advance(5_000);
    const done = await finished;

    assert.equal(done.state, 'linked');
    assert.deepEqual(done.account, { id: 'alice', name: 'Alice' });
    assert.equal(done.user_code, null);
    assert.equal(done.error, null);
    assert.ok(done.scopes?.includes('offline_access'));
    assert.equal(done.token_expires_at, new Date(clock.now() + 60_000).toISOString());
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'linked']);
    assert.equal(rec.events[1].account_changed, false);
    assert.equal(provider.count(DEVICE_CODE_GRANT), 3);
    assert.ok(await provider.isTokenActive(await link.accessToken()));
    // Only the refresh timer is left.
    assert.equal(clock.pendingTimers, 1);
  });

  it('deny → unlinked with access_denied', async () => {
    const { link, rec } = await newLink();
    const { pending, finished } = await link.start();
    await provider.approveDevice(pending.user_code!, { deny: true });
    await clock.advance(5_000);
    const done = await finished;
    assert.equal(done.state, 'unlinked');
    assert.equal(done.error?.code, 'access_denied');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'access_denied']);
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(60_000);
    assert.equal(provider.count(DEVICE_CODE_GRANT), 1, 'no poll after access_denied');
  });

  it('code expiry → code_expired, no poll at or after expires_in', async () => {
    const short = await startTestProvider({ deviceCodeTtl: 12 });
    try {
      const made = await makeLink({ settings: settings({ issuer: short.issuer, clientId: short.clientId }), clock });
      links.push(made.link);
      const { pending, finished } = await made.link.start();
      assert.equal(Date.parse(pending.code_expires_at!) - clock.now(), 12_000);
      const done = await clock.runUntilSettled(finished);
      assert.equal(clock.now() - Date.parse(pending.code_expires_at!), 0, 'ended exactly at expires_in');
      assert.equal(done.state, 'unlinked');
      assert.equal(done.error?.code, 'code_expired');
      assert.deepEqual(made.rec.eventTypes(), ['linking_started', 'code_expired']);
      // Polls at 5 s and 10 s; the 12 s wake-up ends the attempt without asking.
      assert.equal(short.count(DEVICE_CODE_GRANT), 2);
      assert.equal(clock.pendingTimers, 0);
    } finally {
      await short.close();
    }
  });

  it('cancel → no poll after it and no timer left', async () => {
    const { link, rec } = await newLink();
    const { finished } = await link.start();
    await clock.advance(5_000);
    await clock.waitForTimers(1);
    assert.equal(provider.count(DEVICE_CODE_GRANT), 1);
    assert.equal(clock.pendingTimers, 1);
    link.cancel();
    const done = await finished;
    assert.equal(done.state, 'unlinked');
    assert.equal(done.error, null);
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(120_000);
    assert.equal(provider.count(DEVICE_CODE_GRANT), 1);
    assert.deepEqual(rec.eventTypes(), ['linking_started']);
    // A new attempt can start afterwards.
    const again = await link.start();
    assert.equal(again.pending.state, 'pending');
    link.cancel();
    await again.finished;
  });

  it('close during linking stops polling and leaves no timer', async () => {
    const { link } = await newLink();
    const { finished } = await link.start();
    await link.close();
    await finished;
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(60_000);
    assert.equal(provider.count(DEVICE_CODE_GRANT), 0);
  });

  it('refreshes with rotation for 30 cycles, always presenting the newest refresh token', async () => {
    const { link, store, rec } = await newLink();
    await linkAs(link);
    let expected = (await store.read('node1'))!.tokens.refreshToken!;
    const firstRefresh = expected;
    for (let cycle = 0; cycle < 30; cycle++) {
      await clock.waitForTimers(1);
      const due = clock.nextDue!;
      // random() = 0: the refresh is due 10% of the 60 s lifetime before expiry.
      assert.equal(due, Date.parse(link.snapshot().token_expires_at!) - 6_000);
      assert.ok(await clock.advanceToNext());
      const refreshes = provider.requests.filter((r) => r.grantType === 'refresh_token');
      assert.equal(refreshes.length, cycle + 1, `cycle ${cycle}: one refresh per token lifetime`);
      const last = refreshes[refreshes.length - 1];
      assert.equal(last.status, 200, `cycle ${cycle}: ${last.error}`);
      assert.equal(last.presented, expected, `cycle ${cycle}: the newest refresh token was used`);
      const stored = (await store.read('node1'))!;
      assert.notEqual(stored.tokens.refreshToken, expected, 'the provider rotated it and the store has the new one');
      expected = stored.tokens.refreshToken!;
    }
    assert.equal(link.snapshot().state, 'linked');
    assert.equal(rec.eventTypes().filter((t) => t === 'refreshed').length, 30);
    assert.ok(await provider.isTokenActive(expected));
    assert.ok(await provider.isTokenActive(await link.accessToken()));
    assert.equal(clock.pendingTimers, 1);

    // The premise: presenting a consumed refresh token revokes the whole grant.
    const reuse = await fetch(provider.endpoints.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: firstRefresh, client_id: provider.clientId }),
    });
    assert.equal(((await reuse.json()) as { error: string }).error, 'invalid_grant');
    assert.equal(await provider.isTokenActive(expected), false);
    // The refusal is confirmed once, 30 s later, before the link is given up.
    await clock.advance(10_000);
    await assert.rejects(link.refresh(), { code: 'invalid_grant_unconfirmed' });
    assert.equal(link.snapshot().state, 'linked', 'the access token is still valid');
    const given = nextEvent(link, 'relink_required');
    await clock.advance(30_000);
    await given;
    const refusals = provider.requests.filter((r) => r.grantType === 'refresh_token' && r.error === 'invalid_grant');
    assert.deepEqual(refusals.map((r) => r.presented), [firstRefresh, expected, expected]);
    assert.equal(link.snapshot().state, 'relink_required');
    assert.equal(link.snapshot().error?.code, 'invalid_grant');
    assert.equal(clock.pendingTimers, 0);
  });

  it('1,000 concurrent accessToken() calls on an expired token make exactly one refresh', async () => {
    const { link } = await newLink();
    await linkAs(link);
    const before = await link.accessToken();
    // Jump past expiry without firing the refresh timer.
    clock.setNow(clock.now() + 61_000);
    const results = await Promise.all(Array.from({ length: 1000 }, () => link.accessToken()));
    assert.equal(provider.count('refresh_token'), 1);
    assert.equal(new Set(results).size, 1);
    assert.notEqual(results[0], before);
    assert.ok(await provider.isTokenActive(results[0]));
  });

  it('revoke → tokens dead at the provider, store file gone, unlinked', async () => {
    const { link, store, rec } = await newLink();
    await linkAs(link);
    const { tokens } = (await store.read('node1'))!;
    assert.ok(await provider.isTokenActive(tokens.accessToken));
    assert.ok(await provider.isTokenActive(tokens.refreshToken!));

    const result = await link.revoke();
    assert.equal(result.snapshot.state, 'unlinked');
    assert.equal(result.snapshot.error, null);
    assert.equal(result.snapshot.account, null);
    assert.equal(result.manageUrl, null);
    assert.equal(await provider.isTokenActive(tokens.accessToken), false);
    assert.equal(await provider.isTokenActive(tokens.refreshToken!), false);
    await assert.rejects(access(store.fileFor('node1')), { code: 'ENOENT' });
    assert.equal(await store.read('node1'), null);
    const revoked = rec.events.find((e) => e.event_type === 'revoked');
    assert.equal(revoked?.provider_revoked, true);
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(link.accessToken(), { code: 'not_linked' });
  });

  it('a restarted link loads the stored tokens and keeps refreshing', async () => {
    const first = await newLink();
    await linkAs(first.link);
    const token = await first.link.accessToken();
    await first.link.close();
    assert.equal(clock.pendingTimers, 0, 'close leaves no timer');

    const second = await makeLink({ settings: settings(), clock, store: first.store });
    links.push(second.link);
    const loaded = await second.link.load();
    assert.equal(loaded.state, 'linked');
    assert.deepEqual(loaded.account, { id: 'alice', name: 'Alice' });
    assert.equal(await second.link.accessToken(), token);
    await clock.advance(60_000);
    await clock.waitForTimers(1);
    assert.equal(provider.count('refresh_token'), 1);
    assert.notEqual(await second.link.accessToken(), token);
  });

  it('relinking as another person, allowed once, reports account_changed; the old link works until then', async () => {
    const { link, rec } = await newLink();
    await linkAs(link, 'alice');
    const { pending, finished } = await link.start({ replaceAccount: true });
    assert.equal(pending.state, 'pending');
    assert.deepEqual(pending.account, { id: 'alice', name: 'Alice' });
    assert.ok(await link.accessToken(), 'existing link stays usable while a new one is pending');
    await provider.approveDevice(pending.user_code!, { accountId: 'bob' });
    await clock.advance(5_000);
    const done = await finished;
    assert.deepEqual(done.account, { id: 'bob', name: 'Bob' });
    const linked = rec.events.filter((e) => e.event_type === 'linked');
    assert.equal(linked.length, 2);
    assert.equal(linked[1].account_changed, true);
    assert.deepEqual(linked[1].previous_account, { id: 'alice', name: 'Alice' });
  });

  it('never lets a secret reach logs, snapshots or events (confidential client, full run)', async () => {
    const { clientId, clientSecret } = provider.confidentialClient;
    const { link, store, rec } = await newLink({ clientId, clientSecret });
    const secrets = new Set<string>([clientSecret]);
    const errors: string[] = [];

    await linkAs(link);
    const collect = async () => {
      const stored = await store.read('node1');
      if (stored) {
        secrets.add(stored.tokens.accessToken);
        if (stored.tokens.refreshToken) secrets.add(stored.tokens.refreshToken);
      }
    };
    await collect();
    for (let i = 0; i < 3; i++) {
      await clock.waitForTimers(1);
      await clock.advanceToNext();
      await clock.waitForTimers(1);
      await collect();
    }
    await link.refresh();
    await collect();
    // A failing request on the way: its error text must be clean as well.
    clock.setNow(clock.now() + 61_000);
    await link.revoke();
    await link.accessToken().catch((err: Error) => errors.push(`${err.message} ${JSON.stringify(err)}`));
    for (const r of provider.requests) if (r.presented) secrets.add(r.presented);

    assert.ok(provider.requests.some((r) => r.grantType === DEVICE_CODE_GRANT && r.presented), 'device code collected');
    assert.ok(secrets.size >= 10, `collected ${secrets.size} secrets`);
    assert.ok(rec.logs.length > 0 && rec.snapshots.length > 0 && rec.events.length > 0);
    const everything = [
      ...rec.logs.map((l) => l.message),
      ...rec.snapshots.map((s) => JSON.stringify(s)),
      ...rec.events.map((e) => JSON.stringify(e)),
      JSON.stringify(link.snapshot()),
      ...errors,
    ].join('\n');
    for (const secret of secrets) {
      assert.ok(secret.length >= 16);
      assert.equal(everything.includes(secret), false, 'a secret leaked');
    }
  });

  describe('issue 11: a stated refresh-token lifetime, and a false invalid_grant', () => {
    let stated: TestProvider;
    before(async () => {
      // Five-day refresh tokens, each token response stating what is left of them (as Keycloak does);
      // hour-long access tokens, so a refresh comes while the access token is still fresh.
      stated = await startTestProvider({ accessTokenTtl: 3600, refreshTokenTtl: 5 * 24 * 3600, stateRefreshLifetime: 'refresh_expires_in' });
    });
    after(() => stated.close());
    beforeEach(() => {
      stated.requests.length = 0;
    });

    async function linked(overrides: Partial<ProviderSettings> = {}) {
      const made = await newLink({ issuer: stated.issuer, clientId: stated.clientId, ...overrides });
      const { pending, finished } = await made.link.start();
      await stated.approveDevice(pending.user_code!, { accountId: 'alice' });
      await clock.advance(5_000);
      assert.equal((await finished).state, 'linked');
      return made;
    }

    /** The provider's own expiry of a refresh token (introspection `exp`), epoch ms. */
    async function providerExpiry(token: string): Promise<number> {
      const response = await fetch(stated.endpoints.introspection, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: stated.clientId }),
      });
      const body = (await response.json()) as { active: boolean; exp?: number };
      assert.ok(body.active && body.exp, JSON.stringify(body));
      return body.exp * 1000;
    }

    it('stated: refresh_expires_at is the date the provider gave its refresh token; each rotation restates it; past it the link ends without asking', async () => {
      const { link, store, rec } = await linked();
      // The simulated clock started at the real time; allow for the seconds it ran ahead while linking.
      const near = (a: number, b: number) => Math.abs(a - b) < 15_000;
      const first = (await store.read('node1'))!.tokens;
      assert.ok(first.refreshExpiresStated);
      const firstDate = Date.parse(link.snapshot().refresh_expires_at!);
      assert.ok(near(firstDate, clock.now() + 5 * DAY), link.snapshot().refresh_expires_at!);
      assert.ok(near(firstDate, await providerExpiry(first.refreshToken!)), 'the provider agrees');

      await clock.advanceToNext();
      await clock.waitForTimers(1);
      const rotated = (await store.read('node1'))!.tokens;
      assert.notEqual(rotated.refreshToken, first.refreshToken);
      const secondDate = Date.parse(link.snapshot().refresh_expires_at!);
      assert.ok(secondDate > firstDate, 'the latest statement wins');
      assert.ok(near(secondDate, rotated.obtainedAt + 5 * DAY));
      assert.equal(rec.eventTypes().filter((t) => t === 'relink_soon').length, 0, 'a date every refresh moves never comes close');

      // Node-RED is off past the stated date: on the way back up the link ends without a token call.
      await link.close();
      clock.setNow(secondDate + 1000);
      const restarted = await makeLink({ settings: settings({ issuer: stated.issuer, clientId: stated.clientId }), clock, store });
      links.push(restarted.link);
      const refreshes = stated.count('refresh_token');
      const ended = nextEvent(restarted.link, 'relink_required');
      await restarted.link.load();
      await clock.advance(0);
      assert.equal((await ended).error.code, 'refresh_expired');
      assert.equal(stated.count('refresh_token'), refreshes);
    });

    it('one false invalid_grant in front of the token endpoint: confirmed against the real provider, the link stays linked', async () => {
      const proxy = await FaultProxy.start(stated.issuer);
      try {
        const { link, store, rec } = await linked({ tokenEndpoint: `${proxy.origin}/token` });
        const presented = (await store.read('node1'))!.tokens.refreshToken;
        proxy.falseInvalidGrants = 1;
        await clock.advanceToNext();
        const waiting = link.snapshot();
        assert.deepEqual([waiting.state, waiting.error?.code], ['linked', 'invalid_grant_unconfirmed']);
        assert.equal(stated.count('refresh_token'), 0, 'the refusal came from the proxy; the provider never saw the token');

        await clock.advance(30_000);
        await clock.waitForTimers(1);
        assert.deepEqual(
          proxy.tokenAttempts('refresh_token').map((a) => a.status),
          [400, 200],
        );
        assert.deepEqual(
          stated.requests.filter((r) => r.grantType === 'refresh_token').map((r) => [r.presented, r.status]),
          [[presented, 200]],
          'the same refresh token, accepted',
        );
        const after = link.snapshot();
        assert.deepEqual([after.state, after.error], ['linked', null]);
        assert.ok(await stated.isTokenActive(await link.accessToken()));
        assert.ok(!rec.eventTypes().includes('relink_required'));
      } finally {
        await proxy.close();
      }
    });
  });
});
