import assert from 'node:assert/strict';
import { cleanupTempDirs } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { startPairingHub, visibleText, type PairingHub } from './fixtures.js';

/** A relink through the pairing page that comes back as someone else, against a real authorization server. */
describe('web: relinking through the pairing page as another account', function () {
  let provider: TestProvider;
  let hub: PairingHub;

  before(async () => {
    provider = await startTestProvider({ allowAnyRedirectUri: true });
  });
  after(async () => {
    await provider.close();
    await cleanupTempDirs();
  });
  beforeEach(async () => {
    hub = await startPairingHub({ provider, clock: new ManualClock() });
  });
  afterEach(() => hub.close());

  /** Shows a code, enters it on the page, signs in as `accountId`; the callback page and how the attempt ended. */
  async function pairAs(link: Awaited<ReturnType<PairingHub['newLink']>>['link'], accountId: string, language = 'en') {
    const { pending, finished } = await link.start();
    const back = new URL(await provider.authorize(await hub.enterCode(pending.user_code!), { accountId }));
    const page = await hub.request(back.pathname + back.search, { headers: { 'accept-language': language } });
    return { page, done: await finished };
  }

  it('says nothing changed, in the phone’s language, and the hub keeps the account it had', async () => {
    const { link, store } = await hub.newLink();
    const first = await pairAs(link, 'alice');
    assert.match(visibleText(first.page.text), /^Linked as Alice/);
    const before = await store.read(link.id);

    const refused = await pairAs(link, 'bob', 'de');
    assert.match(visibleText(refused.page.text), /mit einem anderen Konto angemeldet .* Der Hub behält sein Konto\. .*„Anderes Konto verknüpfen“/);
    assert.deepEqual([refused.done.state, refused.done.account?.name, refused.done.error?.code], ['linked', 'Alice', 'account_changed']);
    assert.deepEqual(await store.read(link.id), before);
    assert.equal(provider.revoked.length, 2, 'Bob’s tokens were revoked');
  });
});
