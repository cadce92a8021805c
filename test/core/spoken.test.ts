/**
 * Issue 12 in the core: codes and addresses in words for a speaker (four spelling alphabets), the
 * snapshot's spoken fields, one summary per link, and the people count per app.
 */
import assert from 'node:assert/strict';
import {
  countAppPeople,
  speakAddress,
  spellCode,
  spellingLanguage,
  summarizeLinks,
  type Snapshot,
} from '../../src/core/index.js';
import { ACCESS_TOKEN, makeLink, REFRESH_TOKEN, removeTempDirs } from '../mqtt/links.js';

const LANGUAGES = ['en', 'de', 'fr', 'es'] as const;

describe('spoken codes and addresses', () => {
  after(removeTempDirs);

  /** What a speaker says in each language: a letters code, a digits code, and an address. */
  const SAID = {
    en: [
      'Bravo Delta Whiskey Papa, Hotel Quebec Papa Kilo',
      'one two zero, four five six, seven eight nine',
      'my dash hub dot example dot com colon eight four four three slash link',
    ],
    de: [
      'Berlin Düsseldorf Wuppertal Potsdam, Hamburg Quickborn Potsdam Köln',
      'eins zwo null, vier fünf sechs, sieben acht neun',
      'my Bindestrich hub Punkt example Punkt com Doppelpunkt acht vier vier drei Schrägstrich link',
    ],
    fr: [
      'Berthe Désiré William Pierre, Henri Quintal Pierre Kléber',
      'un deux zéro, quatre cinq six, sept huit neuf',
      'my tiret hub point example point com deux-points huit quatre quatre trois slash link',
    ],
    es: [
      'Barcelona Dolores Washington París, Historia Querido París Kilo',
      'uno dos cero, cuatro cinco seis, siete ocho nueve',
      'my guion hub punto example punto com dos puntos ocho cuatro cuatro tres barra link',
    ],
  };

  for (const language of LANGUAGES) {
    it(`${language}: spells a code with its alphabet (groups parted by a pause) and says an address in its words`, () => {
      assert.deepEqual(
        [spellCode('BDWP-HQPK', language), spellCode('120-456-789', language), speakAddress('https://my-hub.example.com:8443/link', language)],
        SAID[language],
      );
    });
  }

  it('has one distinct word for each of the 26 letters in every alphabet; lower case spells the same', () => {
    for (const language of LANGUAGES) {
      const words = spellCode('ABCDEFGHIJKLMNOPQRSTUVWXYZ', language).split(' ');
      assert.equal(words.length, 26, language);
      assert.equal(new Set(words).size, 26, `${language}: a word used twice`);
      for (const [i, word] of words.entries()) {
        // Each word starts with its letter (Ü, É and the like count as theirs).
        assert.equal(word.normalize('NFD')[0], String.fromCharCode(65 + i), `${language}: ${word}`);
      }
      assert.equal(spellCode('bdwp hqpk', language), spellCode('BDWP-HQPK', language));
    }
    // Device-flow codes of other providers mix letters and digits.
    assert.equal(spellCode('WDJB-MJ7T', 'en'), 'Whiskey Delta Juliett Bravo, Mike Juliett seven Tango');
  });

  it('says an address the way a person would: words as words, numbers digit by digit, signs by name', () => {
    assert.equal(
      speakAddress('http://192.168.1.20:1880/link', 'en'),
      'one nine two dot one six eight dot one dot two zero colon one eight eight zero slash link',
    );
    assert.equal(speakAddress('https://example.com/link', 'en'), 'example dot com slash link');
    assert.equal(speakAddress('https://github.com/login/device/', 'en'), 'github dot com slash login slash device');
  });

  it('picks the spelling alphabet by base language, English for any other', () => {
    assert.deepEqual(
      ['de', 'de-CH', 'fr-CA', 'es-MX', 'en-US', 'it', '', undefined].map(spellingLanguage),
      ['de', 'de', 'fr', 'es', 'en', 'en', 'en', 'en'],
    );
  });

  it('the snapshot carries the spoken code and prompt while a code is shown, and null otherwise', async () => {
    const { link } = await makeLink('den', { linked: true });
    assert.equal(link.snapshot().user_code_spoken, null);
    assert.equal(link.snapshot().prompt_spoken, null);
    const { pending } = await link.start();
    assert.equal(pending.user_code, 'BDWP-HQ01');
    assert.equal(pending.user_code_spoken, 'Bravo Delta Whiskey Papa, Hotel Quebec zero one');
    assert.equal(
      pending.prompt_spoken,
      'To relink auth.example.test, open one nine two dot one six eight dot one dot two zero colon one eight eight zero slash link ' +
        'and enter the code Bravo Delta Whiskey Papa, Hotel Quebec zero one.',
    );
    // The link had tokens, so both prompts say relink.
    assert.equal(pending.prompt, 'To relink auth.example.test, open 192.168.1.20:1880/link and enter BDWP-HQ01');
    await link.cancel();
    assert.deepEqual([link.snapshot().user_code_spoken, link.snapshot().prompt_spoken], [null, null]);
  });
});

describe('connected accounts: one summary per link, people per app', () => {
  after(removeTempDirs);

  it('summarizes each link from its snapshot, without secrets, ordered by slug, named by its node', async () => {
    const alice = await makeLink('alice-spotify', { linked: true, spotify: true, name: ' Alice’s Spotify ' });
    const hall = await makeLink('hall');
    const summaries = summarizeLinks([hall.link, alice.link]);
    assert.deepEqual(summaries, [
      {
        link: 'alice-spotify',
        name: 'Alice’s Spotify',
        provider: 'spotify',
        state: 'linked',
        account: { id: 'alice-id', name: 'Alice' },
        token_expires_at: '2026-11-28T16:00:00.000Z',
        refresh_expires_at: '2027-02-26T15:00:00.000Z',
        last_refresh_at: '2026-11-28T15:00:00.000Z',
        error: null,
      },
      {
        link: 'hall',
        name: 'hall',
        provider: 'custom',
        state: 'unlinked',
        account: null,
        token_expires_at: null,
        refresh_expires_at: null,
        last_refresh_at: null,
        error: null,
      },
    ]);
    const text = JSON.stringify(summaries);
    for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN]) assert.ok(!text.includes(secret));
  });

  it('counts the people of one Spotify client id (5 in development mode); a relinked person counts once', () => {
    const account = (id: string) => ({ id, name: id });
    const apps = countAppPeople([
      { link: 'a', provider: 'spotify', clientId: 'app-1', account: account('alice') },
      { link: 'b', provider: 'spotify', clientId: 'app-1', account: account('bob') },
      { link: 'b2', provider: 'spotify', clientId: 'app-1', account: account('bob') },
      { link: 'c', provider: 'spotify', clientId: 'app-1', account: null },
      { link: 'd', provider: 'spotify', clientId: 'app-2', account: account('alice') },
      { link: 'g', provider: 'github', clientId: 'app-1', account: account('alice') },
    ]);
    assert.deepEqual(apps, [
      { provider: 'github', clientId: 'app-1', people: 1, limit: null, links: ['g'] },
      { provider: 'spotify', clientId: 'app-1', people: 2, limit: 5, links: ['a', 'b', 'b2', 'c'] },
      { provider: 'spotify', clientId: 'app-2', people: 1, limit: 5, links: ['d'] },
    ]);
    assert.deepEqual(countAppPeople([]), []);
  });

  it('a summary follows the snapshot: a shown code is no account, an error is kept', () => {
    const snapshot = (overrides: Partial<Snapshot>): Snapshot => ({
      link: 'x', provider: 'custom', state: 'unlinked', account: null, waiting_for: null, user_code: null, verification_uri: null,
      verification_uri_complete: null, code_expires_at: null, token_expires_at: null, refresh_expires_at: null,
      last_refresh_at: null, scopes: null, prompt: null, user_code_spoken: null, prompt_spoken: null, error: null,
      updated_at: '2026-01-01T00:00:00.000Z', ...overrides,
    });
    const error = { code: 'invalid_grant' as const, message: 'Link the account again.' };
    const [summary] = summarizeLinks([{ name: 'X', snapshot: () => snapshot({ state: 'relink_required', error, user_code: 'BDWP-HQPK' }) }]);
    assert.deepEqual([summary!.state, summary!.error, 'user_code' in summary!], ['relink_required', error, false]);
  });
});
