import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

/** The request node's editor files: its dialog, catalogs and help in every language, and its registration. */

const root = path.resolve(__dirname, '../..');
const LANGUAGES = ['en-US', 'de', 'fr', 'es'];
const editorHtml = readFileSync(path.join(root, 'nodes/account-link-request.html'), 'utf8');

type Catalog = { [key: string]: string | Catalog };

function leaves(tree: Catalog, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'string') out.set(prefix + key, value);
    else for (const [k, v] of leaves(value, `${prefix}${key}.`)) out.set(k, v);
  }
  return out;
}

function catalog(lang: string): Map<string, string> {
  return leaves(JSON.parse(readFileSync(path.join(root, 'locales', lang, 'account-link-request.json'), 'utf8')) as Catalog);
}

const placeholders = (text: string): string[] => [...text.matchAll(/__([a-zA-Z0-9_-]+?)__/g)].map((m) => m[1]!).sort();

describe('account-link-request editor files', () => {
  const english = catalog('en-US');

  it('is a node set of the package, with its own catalog in every language', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
    assert.equal(pkg['node-red'].nodes['account-link-request'], 'dist/nodes/account-link-request.js');
    for (const lang of LANGUAGES.slice(1)) {
      const other = catalog(lang);
      assert.deepEqual([...other.keys()].sort(), [...english.keys()].sort(), lang);
      let differs = 0;
      for (const [key, text] of english) {
        assert.deepEqual(placeholders(other.get(key)!), placeholders(text), `${lang} ${key}`);
        if (other.get(key) !== text) differs++;
      }
      assert.ok(differs > english.size * 0.6, `${lang}: only ${differs} of ${english.size} texts translated`);
    }
  });

  it('uses only keys its catalog has', () => {
    const used = new Set<string>();
    for (const m of editorHtml.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)) used.add(m[1]!);
    for (const m of editorHtml.matchAll(/this\._\("([a-zA-Z0-9_.-]+)"/g)) used.add(m[1]!);
    const runtime = readFileSync(path.join(root, 'src/nodes/account-link-request.ts'), 'utf8');
    for (const m of runtime.matchAll(/\bt\('([a-zA-Z0-9_.-]+)'/g)) used.add(`account-link-request.${m[1]}`);
    assert.ok(used.size >= 20, `found ${used.size} keys`);
    assert.deepEqual([...used].filter((key) => !english.has(key)), []);
  });

  it('registers the node in the "account link" category with the documented properties', () => {
    const types = new Map<string, Record<string, any>>();
    const script = [...editorHtml.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
    vm.runInNewContext(script, { RED: { nodes: { registerType: (type: string, def: Record<string, any>) => types.set(type, def) } } });
    const def = types.get('account-link-request')!;
    assert.equal(def.category, 'account link');
    assert.deepEqual([def.inputs, def.outputs], [1, 1]);
    assert.deepEqual(Object.keys(def.defaults).sort(), ['account', 'allowedHosts', 'method', 'name', 'queueLimit', 'ret', 'url']);
    assert.equal(def.defaults.account.type, 'account-link');
    assert.deepEqual([def.defaults.method.value, def.defaults.ret.value, def.defaults.queueLimit.value], ['GET', 'obj', 100]);
    assert.equal(def.defaults.queueLimit.validate('100'), true);
    assert.equal(def.defaults.queueLimit.validate('-1'), false);
    const methods = [...editorHtml.matchAll(/<option value="([A-Za-z]+)"/g)].map((m) => m[1]);
    assert.deepEqual(methods, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'use', 'obj', 'txt', 'bin']);
    assert.match(readFileSync(path.join(root, 'nodes/icons', def.icon), 'utf8'), /^<svg [^>]*viewBox="0 0 40 60"/);
  });

  for (const lang of LANGUAGES) {
    it(`${lang} help has inputs, outputs and details, and names the errors`, () => {
      const help = readFileSync(path.join(root, 'locales', lang, 'account-link-request.html'), 'utf8');
      const sections = [...help.matchAll(/<script type="text\/html" data-help-name="([^"]+)">([\s\S]*?)<\/script>/g)];
      assert.deepEqual(sections.map((m) => m[1]), ['account-link-request']);
      const body = sections[0]![2]!;
      assert.equal((body.match(/<h3>/g) ?? []).length, 3);
      for (const word of ['payload', 'statusCode', 'headers', 'responseUrl', 'forbidden_host', 'unauthorized', 'rate_limited', 'quota_exceeded', 'https://api.spotify.com/v1/']) {
        assert.ok(body.includes(word), `${lang}: ${word}`);
      }
    });
  }
});
