import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

/**
 * The `ui-account-link` node set's static files: its catalog and help in every language, its
 * editor script with and without Dashboard 2.0, and the package.json entries Node-RED and
 * Dashboard read.
 */

const root = path.resolve(__dirname, '../..');
const LANGUAGES = ['en-US', 'de', 'fr', 'es'];
const editorHtml = readFileSync(path.join(root, 'nodes/ui-account-link.html'), 'utf8');

type Catalog = { [key: string]: string | Catalog };

function leaves(tree: Catalog, prefix = ''): [string, string][] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' ? [[prefix + key, value] as [string, string]] : leaves(value, `${prefix}${key}.`),
  );
}

function catalog(language: string): Map<string, string> {
  return new Map(leaves(JSON.parse(readFileSync(path.join(root, 'locales', language, 'ui-account-link.json'), 'utf8')) as Catalog));
}

/** Runs the editor script against a RED stand-in; `dashboard` says whether Dashboard 2.0's catalog answers. */
function registration(dashboard: boolean): Record<string, any> {
  const types = new Map<string, Record<string, any>>();
  const script = [...editorHtml.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
  const dashboardTexts: Record<string, string> = { 'label.category': 'dashboard 2', 'colors.medium': 'var(--nrdb-node-medium)' };
  const RED = {
    nodes: { registerType: (type: string, def: Record<string, any>) => types.set(type, def) },
    _: (key: string) => {
      const [namespace, name] = key.split(':');
      const local = name?.replace(/^ui-base\./, '') ?? '';
      // i18next answers a missing key with the key itself.
      return dashboard && namespace === '@flowfuse/node-red-dashboard/ui-base' && dashboardTexts[local] ? dashboardTexts[local] : name ?? key;
    },
  };
  vm.runInNewContext(script, { RED, $: () => ({}) });
  assert.deepEqual([...types.keys()], ['ui-account-link']);
  return types.get('ui-account-link')!;
}

describe('ui-account-link: catalogs, help and editor script', () => {
  const english = catalog('en-US');

  for (const language of LANGUAGES.slice(1)) {
    it(`${language} translates every key with the same placeholders`, () => {
      const translated = catalog(language);
      assert.deepEqual([...translated.keys()].sort(), [...english.keys()].sort());
      let differs = 0;
      for (const [key, text] of english) {
        const other = translated.get(key)!;
        assert.ok(other.trim(), `${language} ${key}`);
        assert.deepEqual([...other.matchAll(/__\w+?__/g)].map(String), [...text.matchAll(/__\w+?__/g)].map(String), `${language} ${key}`);
        if (other !== text) differs++;
      }
      // "Name" is German too; the sentences must not stay English.
      assert.ok(differs > english.size * 0.8, `${language}: only ${differs} of ${english.size} texts translated`);
    });
  }

  for (const language of LANGUAGES) {
    it(`${language} help has inputs, outputs and details, and names what to install`, () => {
      const help = readFileSync(path.join(root, 'locales', language, 'ui-account-link.html'), 'utf8');
      const sections = [...help.matchAll(/<script type="text\/html" data-help-name="([^"]+)">([\s\S]*?)<\/script>/g)];
      assert.deepEqual(sections.map((m) => m[1]), ['ui-account-link']);
      const body = sections[0]![2]!;
      assert.equal((body.match(/<h3>/g) ?? []).length, 3);
      for (const word of ['payload', 'topic', 'action', 'manageUrl', '@flowfuse/node-red-dashboard']) assert.ok(body.includes(word), `${language}: ${word}`);
    });
  }

  it('every key the editor template and script use exists in en-US', () => {
    const used = new Set<string>();
    for (const m of editorHtml.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)) used.add(m[1]!);
    for (const m of editorHtml.matchAll(/this\._\("([a-zA-Z0-9_.-]+)"/g)) used.add(m[1]!);
    assert.ok(used.size >= 9, `found ${used.size} keys`);
    assert.deepEqual([...used].filter((key) => !english.has(key)), []);
  });

  it('registers in Dashboard 2.0\'s category, and in a "dashboard 2" category of its own without it', () => {
    for (const dashboard of [true, false]) {
      const def = registration(dashboard);
      assert.equal(def.category, 'dashboard 2');
      assert.equal(def.color, dashboard ? 'var(--nrdb-node-medium)' : '#a6bbcf');
      assert.deepEqual(Object.keys(def.defaults).sort(), ['account', 'group', 'height', 'language', 'name', 'order', 'width']);
      assert.equal(def.defaults.group.type, 'ui-group');
      assert.equal(def.defaults.account.type, 'account-link');
      assert.equal(def.inputs, 0);
      assert.equal(def.outputs, 1);
      assert.ok(existsSync(path.join(root, 'nodes/icons', def.icon)), def.icon);
    }
  });

  it('is declared to Node-RED and Dashboard 2.0 in package.json, its build shipped', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.equal(manifest['node-red'].nodes['ui-account-link'], 'dist/nodes/ui-account-link.js');
    assert.deepEqual(manifest['node-red-dashboard-2'].widgets['ui-account-link'], { output: 'ui-account-link.umd.js', component: 'UIAccountLink' });
    assert.ok(manifest.files.includes('resources'), 'Node-RED serves the widget from <package>/resources');
    assert.equal(manifest.devDependencies.vite, '8.3.8', 'pinned exactly');
    assert.ok(!manifest.dependencies['@flowfuse/node-red-dashboard'], 'Dashboard 2.0 stays optional');
  });
});
