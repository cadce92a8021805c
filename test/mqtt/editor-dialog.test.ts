/**
 * The `account-link-mqtt` dialog (nodes/account-link-mqtt.html) and its catalogs: the Commands
 * field, a canvas label without the broker's user info, and every text in the four languages.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const root = path.resolve(__dirname, '../..');
const LANGUAGES = ['en-US', 'de', 'fr', 'es'];
const editorHtml = readFileSync(path.join(root, 'nodes/account-link-mqtt.html'), 'utf8');

interface Definition {
  defaults: Record<string, { value?: unknown }>;
  label(this: Record<string, unknown>): string;
}

/** The type registered by the dialog's script, run against a minimal RED stand-in. */
function definition(): Definition {
  let registered: Definition | undefined;
  const script = [...editorHtml.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
  const RED = {
    nodes: { registerType: (_type: string, def: Definition) => (registered = def) },
    validators: { number: () => () => true },
  };
  vm.runInNewContext(script, { RED, $: () => ({}) });
  return registered!;
}

/** Catalog keys (dotted) with their placeholders. */
function keysOf(lang: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  const visit = (node: unknown, prefix: string): void => {
    if (typeof node === 'string') keys.set(prefix, [...node.matchAll(/__([a-zA-Z0-9_-]+?)__/g)].map((m) => m[1]!).sort());
    else for (const [key, value] of Object.entries(node as object)) visit(value, prefix ? `${prefix}.${key}` : key);
  };
  visit(JSON.parse(readFileSync(path.join(root, 'locales', lang, 'account-link-mqtt.json'), 'utf8')), '');
  return keys;
}

describe('account-link-mqtt dialog', () => {
  it('has a Commands field, all by default, with the three choices', () => {
    assert.equal(definition().defaults.commands?.value, 'all');
    const options = [...editorHtml.matchAll(/<option value="([a-z]+)" data-i18n="account-link-mqtt\.commands\./g)].map((m) => m[1]);
    assert.deepEqual(options, ['all', 'status', 'none']);
  });

  it('labels the node on the canvas without the user name and password of its broker address', () => {
    const { label } = definition();
    const cases: [string, string][] = [
      ['mqtt://hub:se@cr/et@broker.local:1883', 'mqtt://broker.local:1883'],
      ['hub:secret@192.168.1.10', '192.168.1.10'],
      ['mqtts://broker.local', 'mqtts://broker.local'],
    ];
    for (const [broker, shown] of cases) assert.equal(label.call({ broker, _: (key: string) => key }), shown, broker);
    assert.equal(label.call({ name: 'Home broker', broker: 'mqtt://a:b@c' }), 'Home broker');
  });

  it('every key the dialog uses is in en-US, and every language has the same keys and placeholders', () => {
    const english = keysOf('en-US');
    const used = new Set<string>();
    for (const m of editorHtml.matchAll(/data-i18n="(?:\[[a-z]+\])?account-link-mqtt\.([^"]+)"/g)) used.add(m[1]!);
    for (const m of editorHtml.matchAll(/\bt\('([a-zA-Z0-9_.-]+)'/g)) used.add(m[1]!);
    assert.ok(used.has('label.commands') && used.has('topics.statusOnly'), [...used].join(', '));
    assert.deepEqual([...used].filter((key) => !english.has(`account-link-mqtt.${key}`)), []);
    for (const lang of LANGUAGES.slice(1)) assert.deepEqual([...keysOf(lang)].sort(), [...english].sort(), lang);
  });

  for (const lang of LANGUAGES) {
    it(`${lang} help explains the Commands setting and where replies may go`, () => {
      const help = readFileSync(path.join(root, 'locales', lang, 'account-link-mqtt.html'), 'utf8');
      assert.match(help, /"forbidden"/);
      assert.match(help, /<code>B\/<\/code>/);
      assert.match(help, /64 Ki/);
    });
  }
});
