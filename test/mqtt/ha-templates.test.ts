/** Home Assistant renders every discovery value template against the state JSON, null fields included. */
import assert from 'node:assert/strict';
import type { Snapshot } from '../../src/core/index.js';
import { discoveryPayload, ENGLISH_DISCOVERY_NAMES } from '../../src/mqtt/discovery.js';
import { expandDiscovery } from './ha-rules.js';
import { renderTemplate } from './ha-templates.js';
import { makeLink, removeTempDirs } from './links.js';

const B = 'account-link';

/** Each component that reads the state JSON, by component id, with its value template. */
function valueTemplates(): Map<string, string> {
  const payload = discoveryPayload({
    prefix: 'homeassistant', baseTopic: B, slug: 'tpl', provider: 'custom', names: ENGLISH_DISCOVERY_NAMES, origin: { name: 'o' },
  });
  const templates = new Map<string, string>();
  for (const [id, component] of Object.entries(expandDiscovery(payload).components)) {
    if (component.value_template === undefined) continue;
    assert.equal(component.state_topic, `${B}/tpl/state`, `${id} renders the state JSON`);
    templates.set(id, String(component.value_template));
  }
  return templates;
}

/** The snapshot as it is, then with each field null, then with each field missing. */
function variants(snapshot: Snapshot): { name: string; json: Record<string, unknown> }[] {
  const fields = Object.keys(snapshot);
  return [
    { name: snapshot.state, json: { ...snapshot } },
    ...fields.map((field) => ({ name: `${snapshot.state}, ${field} null`, json: { ...snapshot, [field]: null } })),
    ...fields.map((field) => ({
      name: `${snapshot.state}, ${field} missing`,
      json: Object.fromEntries(Object.entries(snapshot).filter(([key]) => key !== field)),
    })),
  ];
}

describe('Home Assistant value templates', function () {
  after(removeTempDirs);

  it('the checker reports what HA logs for an attribute of null (the old account template)', () => {
    const old = "{{ value_json.account.name if value_json.account.name else 'None' }}";
    const rendered = renderTemplate(old, { value_json: { account: null } });
    assert.deepEqual(rendered.problems, ["Template variable warning: 'None' has no attribute 'name'"]);
    assert.deepEqual(renderTemplate(old, { value_json: { account: { name: 'Alice' } } }), { output: 'Alice', problems: [] });
    assert.match(renderTemplate('{{ value_json.gone.name }}', { value_json: {} }).problems.join(), /'dict object' has no attribute 'gone'/);
  });

  it('render every state without a warning, even with a field null or missing', async () => {
    const { link } = await makeLink('tpl', { linked: true });
    const linked = link.snapshot();
    const pending = (await link.start()).pending;
    link.cancel();
    await link.revoke();
    const unlinked = link.snapshot();
    assert.deepEqual([linked.state, pending.state, unlinked.state], ['linked', 'pending', 'unlinked']);

    const templates = valueTemplates();
    const problems: string[] = [];
    for (const snapshot of [linked, pending, unlinked]) {
      for (const { name, json } of variants(snapshot)) {
        for (const [id, template] of templates) {
          for (const problem of renderTemplate(template, { value_json: json }).problems) problems.push(`${id} (${name}): ${problem}`);
        }
      }
    }
    assert.deepEqual(problems, []);

    // What HA shows; "None" is HA's "unknown" for an MQTT sensor.
    const shown = (snapshot: Snapshot): Record<string, string> =>
      Object.fromEntries([...templates].map(([id, template]) => [id, renderTemplate(template, { value_json: snapshot }).output]));
    assert.deepEqual(shown(linked), {
      link_state: 'linked',
      account: 'Alice',
      user_code: 'None',
      verification_uri: 'None',
      code_expires_at: 'None',
      token_expires_at: linked.token_expires_at,
      refresh_expires_at: linked.refresh_expires_at ?? 'None',
      linked: 'ON',
    });
    assert.deepEqual(shown(pending), {
      link_state: 'pending',
      account: 'Alice',
      user_code: pending.user_code,
      verification_uri: pending.verification_uri,
      code_expires_at: pending.code_expires_at,
      token_expires_at: pending.token_expires_at,
      refresh_expires_at: pending.refresh_expires_at ?? 'None',
      linked: 'OFF',
    });
    assert.deepEqual(shown(unlinked), {
      link_state: 'unlinked',
      account: 'None',
      user_code: 'None',
      verification_uri: 'None',
      code_expires_at: 'None',
      token_expires_at: 'None',
      refresh_expires_at: 'None',
      linked: 'OFF',
    });
  });
});
