import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import jsonata from 'jsonata';
import helper from 'node-red-node-test-helper';
import { profileSummaries } from '../../src/core/index.js';
import { startTestProvider } from '../../demo/sign-in-server.js';

/**
 * The editor's static files: catalogs in every language, help, the editor script and the example
 * flows. The runtime and the editor look texts up by key, so a missing key shows up as a raw key.
 */

const root = path.resolve(__dirname, '../..');
const LANGUAGES = ['en-US', 'de', 'fr', 'es'];
const NODE_TYPES = ['account-link', 'account-link-start', 'account-link-status', 'account-link-refresh', 'account-link-revoke'];

type Catalog = { [key: string]: string | Catalog };

function catalog(lang: string): Catalog {
  return JSON.parse(readFileSync(path.join(root, 'locales', lang, 'account-link.json'), 'utf8')) as Catalog;
}

/** Every leaf as [dotted key, text]. */
function leaves(tree: Catalog, prefix = ''): [string, string][] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' ? [[prefix + key, value] as [string, string]] : leaves(value, `${prefix}${key}.`),
  );
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/__([a-zA-Z0-9_-]+?)__/g)].map((m) => m[1]!).sort();
}

/** The LinkErrorCode union, read from its source so a new code without a catalog entry fails here. */
function linkErrorCodes(): string[] {
  const source = readFileSync(path.join(root, 'src/core/errors.ts'), 'utf8');
  const union = /export type LinkErrorCode =([^;]+);/.exec(source)?.[1] ?? '';
  return [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
}

const editorHtml = readFileSync(path.join(root, 'nodes/account-link.html'), 'utf8');

describe('editor catalogs and help', () => {
  const english = new Map(leaves(catalog('en-US')));

  it('has the keys the runtime uses', () => {
    const codes = linkErrorCodes();
    assert.ok(codes.length >= 20, `read ${codes.length} error codes from errors.ts`);
    for (const code of [...codes, 'unknown-action', 'no-account']) {
      assert.ok(english.has(`account-link.errors.${code}`), `errors.${code}`);
    }
    for (const state of ['unlinked', 'pending', 'linked', 'relink_required', 'error', 'no-account', 'not-linked']) {
      assert.ok(english.has(`account-link.status.${state}`), `status.${state}`);
    }
    assert.equal(english.get('account-link.status.pending'), 'pending · __code__');
    assert.equal(english.get('account-link.status.linked'), 'linked · __account__');
    assert.equal(english.get('account-link.errors.unknown-action'), 'Unknown action __action__');
    assert.equal(english.get('account-link.prompt'), 'To link __provider__, open __url__ and enter __code__');
  });

  for (const lang of LANGUAGES.slice(1)) {
    it(`${lang} translates every key with the same placeholders`, () => {
      const translated = new Map(leaves(catalog(lang)));
      assert.deepEqual([...translated.keys()].sort(), [...english.keys()].sort());
      let differs = 0;
      for (const [key, text] of english) {
        const other = translated.get(key)!;
        assert.ok(other.trim(), `${lang} ${key} is empty`);
        assert.deepEqual(placeholders(other), placeholders(text), `${lang} ${key} placeholders`);
        if (other !== text) differs++;
      }
      // Names (Spotify, MQTT, …) stay the same; the sentences must not.
      assert.ok(differs > english.size * 0.7, `${lang}: only ${differs} of ${english.size} texts translated`);
    });
  }

  for (const lang of LANGUAGES) {
    it(`${lang}: the pairing page's code hint says what its malformed-code error says`, () => {
      const pairing = JSON.parse(readFileSync(path.join(root, 'locales', lang, 'pairing.json'), 'utf8')) as {
        code: { hint: string };
        errors: { malformed: string };
      };
      // "8 letters (no vowels)": the description of a code, up to the example.
      const description = pairing.code.hint.split(',')[0]!;
      assert.match(description, /\(.+\)/, `${lang}: the hint names what letters a code has`);
      assert.ok(pairing.errors.malformed.includes(description), `${lang}: "${description}" is not in "${pairing.errors.malformed}"`);
    });

    it(`${lang} help has a section with inputs and outputs for every node type`, () => {
      const help = readFileSync(path.join(root, 'locales', lang, 'account-link.html'), 'utf8');
      const sections = [...help.matchAll(/<script type="text\/html" data-help-name="([^"]+)">([\s\S]*?)<\/script>/g)];
      assert.deepEqual(sections.map((m) => m[1]).sort(), [...NODE_TYPES].sort());
      for (const [, type, body] of sections) {
        if (type === 'account-link') continue;
        assert.equal((body!.match(/<h3>/g) ?? []).length, 3, `${lang} ${type}: inputs, outputs, details`);
        assert.match(body!, /payload/);
        assert.match(body!, /topic/);
      }
      const status = sections.find((m) => m[1] === 'account-link-status')![2]!;
      assert.match(status, /access_token/);
      assert.match(status, /Authorization: Bearer/);
      assert.match(sections.find((m) => m[1] === 'account-link-revoke')![2]!, /manageUrl/);
    });
  }

  it('every key the editor script and templates use exists in en-US', () => {
    const used = new Set<string>();
    for (const m of editorHtml.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)) used.add(m[1]!);
    for (const m of editorHtml.matchAll(/\bt\("([a-zA-Z0-9_.-]+)"/g)) used.add(`account-link.${m[1]}`);
    for (const m of editorHtml.matchAll(/this\._\("([a-zA-Z0-9_.-]+)"/g)) used.add(m[1]!);
    // Keys built at run time: one per state, provider label and hint, and palette label.
    for (const state of ['unlinked', 'pending', 'linked', 'relink_required', 'error']) used.add(`account-link.state.${state}`);
    for (const profile of profileSummaries()) {
      used.add(`account-link.provider.${profile.kind}`);
      for (const key of profile.hints) used.add(`account-link.hint.${key}`);
    }
    for (const key of ['config', 'start', 'status', 'refresh', 'revoke']) used.add(`account-link.paletteLabel.${key}`);
    assert.ok(used.size > 60, `found ${used.size} keys`);
    const missing = [...used].filter((key) => !english.has(key) && !key.endsWith('.'));
    assert.deepEqual(missing, []);
  });
});

describe('the Accounts sidebar (plugin)', () => {
  const sidebarHtml = readFileSync(path.join(root, 'nodes/account-link-sidebar.html'), 'utf8');
  const sidebarCatalog = (lang: string): Map<string, string> =>
    new Map(leaves(JSON.parse(readFileSync(path.join(root, 'locales', lang, 'account-link-sidebar.json'), 'utf8')) as Catalog));

  it('is declared as a Node-RED plugin beside its catalogs', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red': { plugins: Record<string, string> } };
    assert.deepEqual(pkg['node-red'].plugins, { 'account-link-sidebar': 'dist/nodes/account-link-sidebar.html' });
    assert.match(sidebarHtml, /RED\.plugins\.registerPlugin\("account-link-sidebar"/);
    assert.match(sidebarHtml, /getJson\("account-link\/links"\)/, 'it lists what the runtime summarizes');
  });

  it('finds every key it uses, in all four languages, with the same placeholders', () => {
    const english = sidebarCatalog('en-US');
    const own = [...sidebarHtml.matchAll(/\bt\("([a-zA-Z0-9_.-]+)"/g)].map((m) => `account-link-sidebar.${m[1]}`);
    assert.ok(own.length > 12, `found ${own.length} keys`);
    assert.deepEqual(own.filter((key) => !english.has(key)), []);
    for (const lang of LANGUAGES.slice(1)) {
      const translated = sidebarCatalog(lang);
      assert.deepEqual([...translated.keys()].sort(), [...english.keys()].sort(), lang);
      for (const [key, text] of english) assert.deepEqual(placeholders(translated.get(key)!), placeholders(text), `${lang} ${key}`);
    }
    // Words it borrows from the account-link catalog (states, people, the revoke question).
    const linkCatalog = new Map(leaves(catalog('en-US')));
    const borrowed = [...sidebarHtml.matchAll(/linkText\("([a-zA-Z0-9_.-]+)"/g)].map((m) => `account-link.${m[1]}`).filter((key) => !key.endsWith('.'));
    assert.ok(borrowed.includes('account-link.people.count'));
    assert.deepEqual(borrowed.filter((key) => !linkCatalog.has(key)), []);
  });
});

describe('editor script', () => {
  /** Runs the editor script against a minimal RED/jQuery stand-in and records the registrations. */
  function registrations(configNodes: Record<string, string>[] = []): Map<string, Record<string, any>> {
    const types = new Map<string, Record<string, any>>();
    const script = [...editorHtml.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
    const RED = {
      nodes: {
        registerType: (type: string, def: Record<string, any>) => types.set(type, def),
        eachConfig: (visit: (node: Record<string, string>) => void) => configNodes.forEach(visit),
      },
      _: (key: string) => key,
    };
    vm.runInNewContext(script, { RED, $: () => ({}), URL });
    return types;
  }

  it('registers the config node and four action nodes in the "account link" category', () => {
    const types = registrations();
    assert.deepEqual([...types.keys()].sort(), [...NODE_TYPES].sort());
    const config = types.get('account-link')!;
    assert.equal(config.category, 'config');
    assert.deepEqual(Object.keys(config.defaults).sort(), [
      'accountChange', 'authorizationEndpoint', 'clientId', 'codeStyle', 'deviceAuthorizationEndpoint', 'flow', 'issuer', 'language', 'link', 'mqtt',
      'name', 'provider', 'publicUrl', 'redirectUri', 'relinkLead', 'revocationEndpoint', 'scope', 'tokenEndpoint', 'userinfoEndpoint',
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(config.credentials)), { clientSecret: { type: 'password' } });
    assert.equal(config.defaults.codeStyle.value, 'letters');
    assert.equal(config.defaults.mqtt.type, 'account-link-mqtt');
    assert.equal(config.defaults.mqtt.required, false);
    assert.equal(config.defaults.accountChange.value, 'refuse');
    for (const type of NODE_TYPES.slice(1)) {
      const def = types.get(type)!;
      assert.equal(def.category, 'account link', type);
      assert.equal(def.inputs, 1);
      assert.equal(def.outputs, 1);
      assert.equal(def.defaults.account.type, 'account-link');
      assert.ok('name' in def.defaults);
    }
    const status = types.get('account-link-status')!;
    assert.equal(status.defaults.watch.value, false);
    assert.equal(status.defaults.exposeToken.value, false);
  });

  it('validates the link id as a slug that no other account-link node uses', () => {
    const types = registrations([{ type: 'account-link', id: 'other', link: 'taken' }]);
    const validate = types.get('account-link')!.defaults.link.validate as (this: object, value: string, opt: object) => unknown;
    const check = (value: string): unknown => validate.call({ id: 'self' }, value, {});
    assert.equal(validate.length, 2, 'a Node-RED 3+ validator that can return a message');
    assert.equal(check('alice-spotify'), true);
    assert.equal(check('kitchen2'), true);
    assert.equal(typeof check('Alice Spotify'), 'string');
    assert.equal(typeof check('alice_spotify'), 'string');
    assert.equal(typeof check(''), 'string');
    assert.equal(typeof check('taken'), 'string');
    assert.equal(validate.call({ id: 'other' }, 'taken', {}), true, 'its own link id is no clash');
  });

  it('keeps no copy of the provider profiles: it asks the runtime', () => {
    const script = [...editorHtml.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
    assert.doesNotMatch(script, /PRESETS|PROVIDER_NAMES|https:\/\/[a-z.]*(spotify|github|google|microsoft)/);
    assert.doesNotMatch(script, /=== "spotify"/, 'no provider-specific rule');
    assert.match(script, /url: "account-link\/profiles"/);
    assert.match(script, /url: "account-link\/info"/);
  });

  it('newer(a, b): the panel takes a snapshot only when it is not older than the one shown (bug 2)', () => {
    const source = /\n {4}function newer\(a, b\) \{[\s\S]*?\n {4}\}/.exec(editorHtml)?.[0];
    assert.ok(source, 'newer() found in the editor script');
    const newer = vm.runInNewContext(`(${source.trim()})`) as (a: object, b: object | null) => boolean;
    const at = (iso: string) => ({ state: 'linked', updated_at: iso });
    assert.equal(newer(at('2026-01-01T10:00:00.000Z'), null), true, 'anything beats nothing');
    assert.equal(newer(at('2026-01-01T10:00:00.001Z'), at('2026-01-01T10:00:00.000Z')), true);
    assert.equal(newer(at('2026-01-01T09:59:59.999Z'), at('2026-01-01T10:00:00.000Z')), false, 'a late reply');
    assert.equal(newer(at('2026-01-01T10:00:00.000Z'), at('2026-01-01T10:00:00.000Z')), true, 'a tie goes to the later arrival');
    assert.equal(newer(at('2026-01-01T10:00:00Z'), at('2026-01-01T10:00:00.5Z')), false, 'compared as times, not as text');
    assert.equal(newer(at('2026-01-01T10:00:00Z'), { state: 'linked' }), true, 'a shown snapshot without a time is replaced');
    assert.equal(newer({ state: 'linked' }, at('2026-01-01T10:00:00Z')), false, 'one without a time does not replace one with');
  });

  it('ships an icon for every action node', () => {
    const icons = readdirSync(path.join(root, 'nodes/icons'));
    for (const m of editorHtml.matchAll(/registerAction\("[^"]+", "[^"]+", "([^"]+)"/g)) {
      assert.ok(icons.includes(m[1]!), m[1]);
      assert.match(readFileSync(path.join(root, 'nodes/icons', m[1]!), 'utf8'), /^<svg [^>]*viewBox="0 0 40 60"/);
    }
  });
});

describe("the dialog's questions to the runtime (admin routes)", function () {
  this.timeout(30_000);
  let userDir = '';
  before(async () => {
    helper.init(require.resolve('node-red'));
    userDir = mkdtempSync(path.join(os.tmpdir(), 'account-link-editor-routes-'));
    helper.settings({ userDir, uiPort: 1880, accountLink: { mdns: false } } as Parameters<typeof helper.settings>[0]);
    await new Promise<void>((resolve) => helper.startServer(resolve));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await helper.load(require('../../dist/nodes/account-link.js'), []);
  });
  after(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    rmSync(userDir, { recursive: true, force: true });
  });

  it('GET account-link/profiles answers every provider the dialog lists, with what its fields show', async () => {
    const response = await helper.request().get('/account-link/profiles').expect(200);
    const profiles = response.body as Record<string, any>[];
    assert.deepEqual(profiles, JSON.parse(JSON.stringify(profileSummaries())));
    const listed = [...editorHtml.matchAll(/<option value="([a-z]+)" data-i18n="account-link\.provider\./g)].map((m) => m[1]);
    assert.deepEqual(profiles.map((p) => p.kind), listed, 'the provider choices, in the same order');
    const english = new Map(leaves(catalog('en-US')));
    for (const profile of profiles) {
      assert.equal(typeof profile.defaultScope, 'string', `${profile.kind}: the scope filled in`);
      assert.equal(typeof profile.secretRequired, 'boolean');
      assert.equal(typeof profile.deviceFlow, 'boolean', `${profile.kind}: whether the hub address fields show`);
      assert.ok(profile.consoleUrl === null || /^https:\/\//.test(profile.consoleUrl));
      for (const value of Object.values(profile.endpoints as Record<string, string>)) assert.match(value, /^https:\/\//);
      for (const key of profile.hints) assert.ok(english.has(`account-link.hint.${key}`), `${profile.kind}: hint ${key}`);
    }
    const byKind = new Map(profiles.map((p) => [p.kind, p]));
    assert.equal(byKind.get('github')!.deviceFlow, true);
    assert.equal(byKind.get('spotify')!.deviceFlow, false, 'Spotify links through the pairing page');
    assert.equal(byKind.get('google')!.secretRequired, true);
  });

  it("GET account-link/info answers the redirect URI to register and the provider's objection to it", async () => {
    const info = async (query: Record<string, string>) => (await helper.request().get('/account-link/info').query(query).expect(200)).body;
    const lan = await info({ provider: 'spotify', publicUrl: 'http://192.168.1.20:1880' });
    assert.deepEqual(lan, {
      publicUrl: 'http://192.168.1.20:1880',
      redirectUri: 'http://127.0.0.1:1880/link/callback',
      httpNodeRoot: '/',
      port: 1880,
      redirectError: null,
      flow: 'pairing',
    });
    assert.equal((await info({ provider: 'spotify', publicUrl: 'https://hub.example.net/' })).redirectUri, 'https://hub.example.net/link/callback');
    const typed = { publicUrl: 'http://192.168.1.20:1880', redirectUri: 'http://192.168.1.20:1880/link/callback' };
    assert.equal((await info({ provider: 'spotify', ...typed })).redirectError.code, 'insecure_redirect_uri');
    assert.equal((await info({ provider: 'custom', ...typed })).redirectError, null);
    assert.equal((await info({ provider: 'custom', publicUrl: 'http://192.168.1.20:1880' })).redirectUri, typed.redirectUri);
  });

  it('GET account-link/info says which flow "automatic" picks, so only the pairing page asks for a redirect URI', async () => {
    const flow = async (query: Record<string, string>) => (await helper.request().get('/account-link/info').query(query).expect(200)).body.flow;
    const provider = await startTestProvider();
    try {
      assert.equal(await flow({ provider: 'github' }), 'device');
      assert.equal(await flow({ provider: 'spotify', flow: 'auto' }), 'pairing');
      assert.equal(await flow({ provider: 'oidc', issuer: provider.issuer }), 'device', 'the issuer’s discovery offers a device flow');
      assert.equal(await flow({ provider: 'oidc', issuer: provider.issuer, flow: 'pairing' }), 'pairing');
      assert.equal(await flow({ provider: 'custom', tokenEndpoint: provider.endpoints.token, authorizationEndpoint: provider.endpoints.authorization }), 'pairing');
      assert.equal(await flow({ provider: 'oidc' }), null, 'no issuer yet: not known');
    } finally {
      await provider.close();
    }
  });
});

describe('example flows', () => {
  const dir = path.join(root, 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const CORE = new Set(['inject', 'debug', 'change', 'catch', 'comment', 'http request', 'switch', 'function']);
  /** The one third-party node an example uses: the text-to-speech node of speak-the-code. */
  const TTS = new Set(['ttsultimate', 'ttsultimate-config']);

  it('has the documented examples', () => {
    assert.deepEqual(files.sort(), [
      'call-api-with-token.json',
      'link-with-inject.json',
      'speak-the-code.json',
      'spotify-now-playing.json',
      'spotify-pause-everywhere.json',
      'spotify-play-on-speaker.json',
      'status-line.json',
    ]);
  });

  for (const file of files) {
    it(`${file} imports cleanly: known types, wires and accounts resolve, no secrets`, () => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      const nodes = JSON.parse(text) as Record<string, any>[];
      const ids = new Set(nodes.map((n) => n.id));
      assert.equal(ids.size, nodes.length, 'unique ids');
      const accounts = nodes.filter((n) => n.type === 'account-link');
      assert.equal(accounts.length, 1);
      assert.match(accounts[0]!.link, /^[a-z0-9-]+$/);
      for (const node of nodes) {
        const known =
          CORE.has(node.type) || [...NODE_TYPES, 'account-link-request'].includes(node.type) || (file === 'speak-the-code.json' && TTS.has(node.type));
        assert.ok(known, `${file}: type ${node.type}`);
        if (node.type.startsWith('account-link-')) assert.equal(node.account, accounts[0]!.id);
        for (const output of node.wires ?? []) for (const target of output) assert.ok(ids.has(target), `${file}: wire to ${target}`);
        if (node.type === 'catch') for (const target of node.scope) assert.ok(ids.has(target));
      }
      assert.doesNotMatch(text, /"credentials"|clientSecret|access_token"\s*:|Bearer [A-Za-z0-9]/);
      const exposing = nodes.filter((n) => n.exposeToken === true);
      assert.equal(exposing.length, file === 'call-api-with-token.json' ? 1 : 0);
    });
  }

  it('imports side by side: no node id and no link id is shared between two examples', () => {
    const seen = new Map<string, string>();
    const slugs = new Map<string, string>();
    for (const file of files) {
      for (const node of JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, any>[]) {
        assert.equal(seen.get(node.id), undefined, `${file} reuses the id ${node.id}`);
        seen.set(node.id, file);
        if (node.type !== 'account-link') continue;
        assert.equal(slugs.get(node.link), undefined, `${file} reuses the link id ${node.link}`);
        slugs.set(node.link, file);
      }
    }
    assert.equal(slugs.size, files.length);
  });

  it('call-api-with-token sends the token only to the http request node and strips it before debug', () => {
    const nodes = JSON.parse(readFileSync(path.join(dir, 'call-api-with-token.json'), 'utf8')) as Record<string, any>[];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const token = nodes.find((n) => n.exposeToken)!;
    const targets = token.wires.flat().map((id: string) => byId.get(id)!);
    assert.deepEqual(targets.map((n: Record<string, any>) => n.type), ['http request']);
    const after = targets[0].wires.flat().map((id: string) => byId.get(id)!);
    assert.equal(after[0].type, 'change');
    assert.deepEqual(after[0].rules.map((r: Record<string, string>) => `${r.t}:${r.p}`), ['delete:access_token', 'delete:headers']);
  });

  it('speak-the-code sends prompt_spoken to the text-to-speech node once, when linking starts', () => {
    const nodes = JSON.parse(readFileSync(path.join(dir, 'speak-the-code.json'), 'utf8')) as Record<string, any>[];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const status = nodes.find((n) => n.type === 'account-link-status')!;
    assert.equal(status.watch, true);
    const gate = byId.get(status.wires[0][0])!;
    assert.deepEqual([gate.type, gate.property, gate.rules], ['switch', 'event.event_type', [{ t: 'eq', v: 'linking_started', vt: 'str' }]]);
    const text = byId.get(gate.wires[0][0])!;
    assert.deepEqual(text.rules, [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.prompt_spoken', tot: 'msg' }]);
    const tts = byId.get(text.wires[0][0])!;
    assert.deepEqual([tts.type, tts.property, byId.get(tts.config)?.type], ['ttsultimate', 'payload', 'ttsultimate-config']);
    assert.equal(nodes.find((n) => n.type === 'account-link')!.codeStyle, 'digits');
  });

  it('status-line watches and builds one line of text', async () => {
    const nodes = JSON.parse(readFileSync(path.join(dir, 'status-line.json'), 'utf8')) as Record<string, any>[];
    const status = nodes.find((n) => n.type === 'account-link-status')!;
    assert.equal(status.watch, true);
    const change = nodes.find((n) => n.id === status.wires[0][0])!;
    assert.equal(change.rules[0].tot, 'jsonata');
    const line = jsonata(change.rules[0].to);
    const base = { link: 'my-spotify', provider: 'spotify', account: null, error: null, prompt: null };
    assert.equal(await line.evaluate({ payload: { ...base, state: 'unlinked' } }), 'Not linked');
    assert.equal(
      await line.evaluate({ payload: { ...base, state: 'pending', prompt: 'To link Spotify, open hub/link and enter BDWP-HQPK' } }),
      'To link Spotify, open hub/link and enter BDWP-HQPK',
    );
    assert.equal(await line.evaluate({ payload: { ...base, state: 'linked', account: { id: 'a', name: 'Alice' } } }), 'Linked as Alice');
    const error = { code: 'invalid_grant', message: 'Link the account again.' };
    assert.equal(
      await line.evaluate({ payload: { ...base, state: 'relink_required', error } }),
      'Please link spotify again: Link the account again.',
    );
  });
});
