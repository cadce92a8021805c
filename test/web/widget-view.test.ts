import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Snapshot } from '../../src/core/index.js';
import { PAGE_LANGUAGES, widgetMessages, widgetTexts } from '../../src/web/index.js';
import { buttonsFor, formatRemaining, spokenCode, translator, widgetLanguage } from '../../ui/account-link-view.js';

/**
 * What the Dashboard 2.0 widget is sent and how it reads it: the words in every language, the QR
 * only while a code is shown, and the buttons, countdown and language the page derives.
 */

const root = path.resolve(__dirname, '../..');
const component = readFileSync(path.join(root, 'ui/components/UIAccountLink.vue'), 'utf8');

function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    link: 'living-room', provider: 'spotify', state: 'unlinked', account: null, waiting_for: null, user_code: null, verification_uri: null,
    verification_uri_complete: null, code_expires_at: null, token_expires_at: null, refresh_expires_at: null, last_refresh_at: null, scopes: null,
    prompt: null, user_code_spoken: null, prompt_spoken: null, error: null, updated_at: '2026-03-01T10:00:00.000Z', ...overrides,
  };
}

const pending = snapshot({
  state: 'pending', user_code: 'BDWP-HQPK', verification_uri: 'http://hub.local:1880/link',
  verification_uri_complete: 'http://hub.local:1880/link?user_code=BDWP-HQPK', code_expires_at: '2026-03-01T10:10:00.000Z',
});

describe('web: the Dashboard 2.0 widget', () => {
  it('has every text the component and its buttons use, in all four languages', () => {
    const texts = widgetTexts();
    const used = new Set<string>();
    for (const m of component.matchAll(/\bt\('([a-z]+)', (?:'([a-zA-Z]+)'|spelling \? '([a-zA-Z]+)' : '([a-zA-Z]+)')/g)) {
      for (const key of [m[2], m[3], m[4]]) if (key) used.add(`${m[1]}.${key}`);
    }
    for (const label of ['start', 'relink', 'cancel', 'refresh', 'revoke']) used.add(`panel.${label}`);
    for (const state of ['unlinked', 'pending', 'linked', 'relink_required', 'error']) used.add(`state.${state}`);
    for (const provider of ['spotify', 'github', 'google', 'microsoft', 'oidc', 'custom']) used.add(`provider.${provider}`);
    assert.ok(used.size >= 25, `found ${used.size} keys`);
    for (const language of PAGE_LANGUAGES) {
      const missing = [...used].filter((key) => {
        const [section, name] = key.split('.') as [keyof (typeof texts)['en-US'], string];
        return !texts[language][section][name];
      });
      assert.deepEqual(missing, [], language);
      assert.deepEqual(Object.keys(texts[language].widget).sort(), Object.keys(texts['en-US'].widget).sort(), language);
      assert.ok(Object.keys(texts[language].errors).length >= 20, `${language}: the error words`);
    }
    assert.equal(texts.de.widget.spell, 'Buchstabieren');
    assert.equal(texts.fr.panel.linkedAs, 'Lié en tant que __account__');
    assert.deepEqual(widgetTexts(null)['en-US'], { widget: {}, panel: {}, state: {}, errors: {}, provider: {} }, 'no catalogs: empty, not a crash');
  });

  it('sends a QR of the code address only while a code is shown', async () => {
    const messageFor = widgetMessages();
    assert.deepEqual(await messageFor(snapshot()), { payload: snapshot(), qr: null, error: null });
    const shown = await messageFor(pending);
    assert.equal(shown.payload, pending);
    assert.match(shown.qr!, /^data:image\/png;base64,/);
    assert.deepEqual(Buffer.from(shown.qr!.split(',')[1]!, 'base64').subarray(1, 4).toString(), 'PNG');
    assert.equal((await messageFor({ ...pending, updated_at: '2026-03-01T10:00:01.000Z' })).qr, shown.qr, 'the same code, the same picture');
    const failed = { code: 'not_linked' as const, message: 'This account is not linked yet.' };
    assert.deepEqual(await messageFor(snapshot({ state: 'linked', account: { id: 'a', name: 'Alice' } }), failed), {
      payload: snapshot({ state: 'linked', account: { id: 'a', name: 'Alice' } }), qr: null, error: failed,
    });
    assert.deepEqual(await messageFor(null, failed), { payload: null, qr: null, error: failed });
  });

  it('offers the buttons the editor panel offers, per state', () => {
    const actions = (s: Snapshot | null): string[] => buttonsFor(s).map((b) => `${b.action}/${b.label}`);
    assert.deepEqual(actions(null), []);
    assert.deepEqual(actions(snapshot()), ['start/start']);
    assert.deepEqual(actions(pending), ['cancel/cancel']);
    const alice = { id: 'a', name: 'Alice' };
    assert.deepEqual(actions(snapshot({ state: 'linked', account: alice })), ['start/relink', 'refresh/refresh', 'revoke/revoke']);
    assert.deepEqual(actions(snapshot({ state: 'relink_required', account: alice })), ['start/relink', 'revoke/revoke']);
    assert.deepEqual(actions(snapshot({ state: 'error', account: null })), ['start/start', 'revoke/revoke']);
  });

  it('counts down, picks the language and fills texts', () => {
    assert.equal(formatRemaining(599_600), '10:00');
    assert.equal(formatRemaining(61_000), '1:01');
    assert.equal(formatRemaining(-5), '0:00');
    assert.equal(widgetLanguage('', ['de-AT', 'en-US']), 'de');
    assert.equal(widgetLanguage('', ['en-GB']), 'en-US');
    assert.equal(widgetLanguage('', ['ja']), 'en-US');
    assert.equal(widgetLanguage('fr', ['de-DE']), 'fr', 'the node setting wins');
    const t = translator(widgetTexts(), 'es');
    assert.equal(t('panel', 'linkedAs', { account: 'Alice' }), 'Vinculado como Alice');
    assert.equal(t('panel', 'nothing'), 'panel.nothing', 'a missing text shows its key');
    assert.equal(spokenCode(pending), null, 'no spelled code in the snapshot: no button');
    assert.equal(spokenCode({ ...pending, user_code_spoken: 'Bravo Delta' } as Snapshot), 'Bravo Delta');
  });
});
