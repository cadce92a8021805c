/**
 * Issue 12 through Node-RED (test helper, built package, real authorization server): the spoken
 * prompt in each of the four languages from its catalog, digits codes from `codeStyle`, and the
 * connected-accounts routes `GET account-link/links` and `GET account-link/apps`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { displayNameFor, speakAddress, spellCode, summarizeLinks } from '../../src/core/index.js';
import type { TestProvider } from '../../demo/sign-in-server.js';
import { accountLinkNodes, collector, helper, node, oidcAccount, onTab, until, useNodeRed, useTestProvider, type Msg, type TestFlow } from './fixtures.js';

const LANGUAGES = ['en-US', 'de', 'fr', 'es'] as const;

function catalogPrompt(lang: string): string {
  const file = path.resolve(__dirname, '../../locales', lang, 'account-link.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { 'account-link': { promptSpoken: string } })['account-link'].promptSpoken;
}

describe('spoken prompts, digits codes and the accounts routes (Node-RED)', function () {
  this.timeout(60_000);
  const testProvider = useTestProvider({ accessTokenTtl: 3600 });
  let provider: TestProvider;
  useNodeRed();
  beforeEach(() => {
    provider = testProvider();
  });

  it('speaks the prompt in the node’s language: its spelling alphabet, its words for the address, its sentence', async () => {
    const flow: Msg[] = [];
    for (const lang of LANGUAGES) {
      flow.push(oidcAccount(provider, { id: `acct-${lang}`, link: `speak-${lang.toLowerCase()}`, name: `Speaker ${lang}`, language: lang }));
      flow.push({ id: `start-${lang}`, type: 'account-link-start', account: `acct-${lang}`, wires: [['out']] });
    }
    flow.push({ id: 'out', type: 'helper' });
    await helper.load(accountLinkNodes, onTab(flow) as TestFlow);
    const out = collector('out');
    for (const lang of LANGUAGES) node(`start-${lang}`).receive({ payload: '' });
    const pending = await until(() => {
      const found = LANGUAGES.map((lang) => out.find((m) => m.topic === `speak-${lang.toLowerCase()}` && m.payload.state === 'pending'));
      return found.every(Boolean) ? (found as Msg[]) : undefined;
    }, 'four pending snapshots');

    const spoken: Record<string, string> = {};
    for (const [i, lang] of LANGUAGES.entries()) {
      const s = pending[i]!.payload;
      const providerName = displayNameFor({ provider: 'oidc', issuer: provider.issuer, name: `Speaker ${lang}` });
      const words = { provider: providerName, url: speakAddress(s.verification_uri, lang), code: spellCode(s.user_code, lang) };
      assert.equal(s.user_code_spoken, words.code, lang);
      const expected = catalogPrompt(lang).replace(/__(\w+)__/g, (_all, name: keyof typeof words) => words[name]);
      assert.equal(s.prompt_spoken, expected, lang);
      spoken[lang] = s.prompt_spoken;
    }
    // What a person hears, language by language (the address is the test provider's 127.0.0.1:<port>).
    assert.match(spoken['en-US']!, /^To link .+, open one two seven dot zero dot zero dot one colon( [a-z]+)+ slash device and enter the code [A-Z][a-z-]+/);
    assert.match(spoken.de!, /^Um .+ zu verknüpfen, öffne eins zwo sieben Punkt null Punkt null Punkt eins Doppelpunkt( \S+)+ Schrägstrich device und gib den Code \S+/);
    assert.match(spoken.fr!, /^Pour lier .+, ouvrez un deux sept point zéro point zéro point un deux-points( \S+)+ slash device et saisissez le code \S+/);
    assert.match(spoken.es!, /^Para vincular .+, abre uno dos siete punto cero punto cero punto uno dos puntos( \S+)+ barra device e introduce el código \S+/);
    for (const lang of LANGUAGES) assert.match(spoken[lang]!, /\.$/, `${lang}: one whole sentence`);
  });

  it('makes 9-digit pairing codes for codeStyle digits, and letters otherwise', async () => {
    const pairing = { flow: 'pairing', deviceAuthorizationEndpoint: '', publicUrl: 'http://192.168.1.20:1880' };
    await helper.load(
      accountLinkNodes,
      onTab([
        // (Node ids that equal a property value would read as config references.)
        oidcAccount(provider, { ...pairing, id: 'acct-digits', link: 'digits', codeStyle: 'digits' }),
        oidcAccount(provider, { ...pairing, id: 'acct-letters', link: 'letters' }),
        { id: 'start-digits', type: 'account-link-start', account: 'acct-digits', wires: [['out']] },
        { id: 'start-letters', type: 'account-link-start', account: 'acct-letters', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]) as TestFlow,
    );
    const out = collector('out');
    node('start-digits').receive({ payload: '' });
    node('start-letters').receive({ payload: '' });
    const digits = await until(() => out.find((m) => m.topic === 'digits' && m.payload.state === 'pending'), 'digits pending');
    const letters = await until(() => out.find((m) => m.topic === 'letters' && m.payload.state === 'pending'), 'letters pending');
    assert.match(digits.payload.user_code, /^\d{3}-\d{3}-\d{3}$/);
    assert.match(letters.payload.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    const digit = '(zero|one|two|three|four|five|six|seven|eight|nine)';
    const group = `${digit} ${digit} ${digit}`;
    assert.match(
      digits.payload.prompt_spoken,
      new RegExp(`open one nine two dot one six eight dot one dot two zero colon one eight eight zero slash link and enter the code ${group}, ${group}, ${group}\\.$`),
    );
  });

  it('GET account-link/links answers every running link’s summary; GET account-link/apps the people per app', async () => {
    await helper.load(
      accountLinkNodes,
      onTab([
        oidcAccount(provider, { id: 'a1', link: 'zeta', name: 'Zeta' }),
        oidcAccount(provider, { id: 'a2', link: 'alpha', name: '' }),
        { id: 'start', type: 'account-link-start', account: 'a1', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]) as TestFlow,
    );
    const out = collector('out');
    node('start').receive({ payload: '' });
    const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending');
    await provider.approveDevice(pending.payload.user_code);
    await until(() => out.find((m) => m.payload.state === 'linked'), 'zeta linked');

    const links = (await helper.request().get('/account-link/links').expect(200)).body as Msg[];
    assert.deepEqual(links.map((s) => [s.link, s.name, s.provider, s.state, s.account?.name ?? null]), [
      ['alpha', 'alpha', 'oidc', 'unlinked', null],
      ['zeta', 'Zeta', 'oidc', 'linked', 'Alice'],
    ]);
    assert.deepEqual(Object.keys(links[1]!).sort(), ['account', 'error', 'last_refresh_at', 'link', 'name', 'provider', 'refresh_expires_at', 'state', 'token_expires_at']);
    assert.ok(Date.parse(links[1]!.token_expires_at) > Date.parse(links[1]!.last_refresh_at));
    const zeta = (await helper.request().get('/account-link/a1').expect(200)).body;
    assert.deepEqual(links[1], summarizeLinks([{ name: 'Zeta', snapshot: () => zeta }])[0], 'the core summary of the snapshot');

    const apps = (await helper.request().get('/account-link/apps').expect(200)).body as Msg[];
    assert.deepEqual(apps, [{ provider: 'oidc', clientId: provider.clientId, people: 1, limit: null, links: ['alpha', 'zeta'] }]);
  });
});
