/**
 * Issue 12 over a real broker (aedes, MQTT 3.1.1): the retained `B/links` array with every link's
 * summary, the Home Assistant hub device that reads it, and the spoken field topics.
 */
import assert from 'node:assert/strict';
import { spellCode, summarizeLink, type LinkSummary } from '../../src/core/index.js';
import { hubDiscoveryTopic, MqttPublisher } from '../../src/mqtt/index.js';
import { startAedes, type AedesBroker } from '../helpers/brokers.js';
import { deviceDiscoveryProblems, expandDiscovery } from './ha-rules.js';
import { renderTemplate } from './ha-templates.js';
import { ACCESS_TOKEN, makeLink, Observer, reaches, REFRESH_TOKEN, removeTempDirs, retainedOn, whenState } from './links.js';

const B = 'account-link';
const CLIENT_ID = 'links-under-test';
const SUMMARY_KEYS = ['account', 'error', 'last_refresh_at', 'link', 'name', 'provider', 'refresh_expires_at', 'state', 'token_expires_at'];

describe('MQTT links topic, hub device and spoken fields (aedes)', function () {
  let broker: AedesBroker;
  let publisher: MqttPublisher | undefined;
  const observers: Observer[] = [];
  /** Every `B/links` payload the publisher's own client sent, in order. */
  let sentLinks: string[];

  beforeEach(async () => {
    broker = await startAedes();
    sentLinks = [];
    broker.aedes.authorizePublish = (client, packet, done) => {
      if (client?.id === CLIENT_ID && packet.topic === `${B}/links`) sentLinks.push(packet.payload.toString());
      done(null);
    };
  });

  afterEach(async () => {
    await Promise.all(observers.splice(0).map((o) => o.close()));
    await publisher?.close();
    publisher = undefined;
    await broker.stop();
    await removeTempDirs();
  });

  async function observe(topics: string[]): Promise<Observer> {
    const observer = await Observer.connect(broker.url, topics);
    observers.push(observer);
    return observer;
  }

  function newPublisher(discovery: boolean): MqttPublisher {
    return new MqttPublisher({ broker: broker.url, clientId: CLIENT_ID, protocolVersion: 4, reconnectPeriod: 100, discovery });
  }

  async function retainedLinks(): Promise<LinkSummary[]> {
    const message = (await retainedOn(broker.url, `${B}/links`)).get(`${B}/links`);
    assert.ok(message, 'B/links is retained');
    return JSON.parse(message.text) as LinkSummary[];
  }

  it('retains one array of every link’s summary, sent once per connect and again only when it changes', async () => {
    const alice = await makeLink('alice-spotify', { linked: true, spotify: true, name: 'Alice’s Spotify' });
    const bob = await makeLink('bob-github', { name: 'Bob' });
    const hall = await makeLink('hall');
    const live = await observe([`${B}/links`]);
    publisher = newPublisher(false);
    for (const l of [hall, bob, alice]) publisher.register(l.link);
    await live.waitFor((m) => m.topic === `${B}/links`, 'the first links array');

    let links = await retainedLinks();
    assert.deepEqual(links.map((s) => s.link), ['alice-spotify', 'bob-github', 'hall'], 'ordered by slug');
    for (const summary of links) assert.deepEqual(Object.keys(summary).sort(), SUMMARY_KEYS);
    assert.deepEqual(links.map((s) => [s.name, s.provider, s.state, s.account?.name ?? null]), [
      ['Alice’s Spotify', 'spotify', 'linked', 'Alice'],
      ['Bob', 'custom', 'unlinked', null],
      ['hall', 'custom', 'unlinked', null],
    ]);
    assert.deepEqual(links[0], summarizeLink(alice.link), 'the core summary, as it is');
    assert.equal(links[0]!.last_refresh_at, '2026-11-28T15:00:00.000Z');
    assert.equal(sentLinks.length, 1, 'three registrations on one connect: one array');

    // Linking moves bob through pending to linked: the array follows each change of a summary.
    const { pending } = await bob.link.start();
    assert.equal(pending.state, 'pending');
    await live.waitFor((m) => (JSON.parse(m.text) as LinkSummary[])[1]!.state === 'pending', 'bob pending');
    bob.pairing.approve();
    await whenState(bob.link, 'linked');
    await live.waitFor((m) => (JSON.parse(m.text) as LinkSummary[])[1]!.state === 'linked', 'bob linked');
    links = await retainedLinks();
    assert.deepEqual(links.map((s) => s.state), ['linked', 'linked', 'unlinked']);
    assert.equal(sentLinks.length, 3, 'one array per change of a summary');

    // Deleted: gone from the array. Only deregistered (a redeploy): kept until it changes.
    publisher.deregister(hall.link, { removed: true });
    await live.waitFor((m) => (JSON.parse(m.text) as LinkSummary[]).length === 2, 'hall removed');
    assert.deepEqual((await retainedLinks()).map((s) => s.link), ['alice-spotify', 'bob-github']);
    const count = sentLinks.length;
    publisher.deregister(alice.link);
    publisher.register(alice.link);
    await live.waitFor(() => sentLinks.length > count, 'the array after the re-registration');
    assert.deepEqual((await retainedLinks()).map((s) => s.link), ['alice-spotify', 'bob-github']);

    // A clean close leaves the last array: a shutdown unlinks nobody.
    await publisher.close();
    publisher = undefined;
    assert.deepEqual((await retainedLinks()).map((s) => s.state), ['linked', 'linked']);
    for (const message of [...live.messages, ...sentLinks.map((text) => ({ text }))]) {
      for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN]) assert.ok(!message.text.includes(secret), 'the links array leaks a token');
    }
  });

  it('sends the array again, in full, after the broker lost it', async () => {
    const { link } = await makeLink('den', { linked: true });
    publisher = newPublisher(false);
    publisher.register(link);
    await reaches(publisher, 'connected');
    assert.equal((await retainedLinks()).length, 1);
    await broker.stop();
    await reaches(publisher, 'disconnected');
    await broker.start();
    const live = await observe([`${B}/links`]);
    const resent = await live.waitFor((m) => m.topic === `${B}/links`, 'the array on the new broker');
    // The restarted broker kept nothing, so this array was sent again.
    assert.deepEqual((JSON.parse(resent.text) as LinkSummary[]).map((s) => s.link), ['den']);
  });

  it('announces a valid Home Assistant hub device whose sensor says linked of all (e.g. 1/2)', async () => {
    const alice = await makeLink('alice', { linked: true });
    const bob = await makeLink('bob');
    const live = await observe(['homeassistant/device/+/config', `${B}/links`]);
    publisher = newPublisher(true);
    publisher.register(alice.link);
    publisher.register(bob.link);
    const topic = hubDiscoveryTopic('homeassistant', B);
    assert.equal(topic, 'homeassistant/device/account_links_account_link/config');
    const config = await live.waitFor((m) => m.topic === topic, 'the hub config');
    const payload = JSON.parse(config.text) as Record<string, unknown>;
    assert.deepEqual(deviceDiscoveryProblems('homeassistant', topic, payload), []);
    const { root, components } = expandDiscovery(payload);
    assert.deepEqual(Object.keys(components), ['linked_accounts']);
    const sensor = components.linked_accounts!;
    assert.equal(sensor.name, 'Linked accounts');
    assert.equal(sensor.state_topic, `${B}/links`);
    assert.equal(sensor.json_attributes_topic, `${B}/links`);
    assert.deepEqual((root.device as { ids: string[] }).ids, ['account_links_account_link']);
    const devices = [...(await retainedOn(broker.url, 'homeassistant/device/+/config')).keys()].sort();
    assert.deepEqual(devices, [topic, 'homeassistant/device/account_link_alice/config', 'homeassistant/device/account_link_bob/config'].sort());

    // What Home Assistant shows, rendered as HA renders it.
    const links = await retainedLinks();
    const state = renderTemplate(String(sensor.value_template), { value_json: links });
    assert.deepEqual(state, { output: '1/2', problems: [] });
    const attributes = renderTemplate(String(sensor.json_attributes_template), { value_json: links });
    assert.deepEqual(attributes.problems, []);
    assert.deepEqual(JSON.parse(attributes.output), { links });
    assert.deepEqual(renderTemplate(String(sensor.value_template), { value_json: [] }), { output: '0/0', problems: [] });

    // A live Home Assistant birth announces the hub again; a retained one does not.
    const before = live.on(topic).length;
    await live.client.publishAsync('homeassistant/status', 'online', { qos: 1, retain: true });
    await live.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await live.next((m) => m.topic === topic, 'the hub announced again');
    assert.equal(live.on(topic).length, before + 1);
    await live.client.publishAsync('homeassistant/status', '', { qos: 1, retain: true });
  });

  it('publishes the code spelled for a speaker and the spoken prompt, in the link’s language, while pending', async () => {
    const speech = { language: 'de', formatPrompt: ({ provider, url, code }: { provider: string; url: string; code: string }) => `Für ${provider}: ${url}, Code ${code}.` };
    const { link, pairing } = await makeLink('kueche', { speech });
    const live = await observe([`${B}/kueche/+`]);
    publisher = newPublisher(false);
    publisher.register(link);
    await reaches(publisher, 'connected');
    let retained = await retainedOn(broker.url, `${B}/kueche/+`);
    assert.equal(retained.has(`${B}/kueche/user_code_spoken`), false, 'nothing to say before a code is shown');

    const { pending } = await link.start();
    await live.waitFor((m) => m.topic === `${B}/kueche/prompt_spoken` && m.text !== '', 'the spoken prompt');
    retained = await retainedOn(broker.url, `${B}/kueche/+`);
    assert.equal(pending.user_code, 'BDWP-HQ01');
    assert.equal(retained.get(`${B}/kueche/user_code_spoken`)?.text, 'Berlin Düsseldorf Wuppertal Potsdam, Hamburg Quickborn null eins');
    assert.equal(retained.get(`${B}/kueche/user_code_spoken`)?.text, spellCode(pending.user_code!, 'de'));
    assert.equal(
      retained.get(`${B}/kueche/prompt_spoken`)?.text,
      'Für auth.example.test: eins neun zwo Punkt eins sechs acht Punkt eins Punkt zwo null Doppelpunkt eins acht acht null Schrägstrich link, Code Berlin Düsseldorf Wuppertal Potsdam, Hamburg Quickborn null eins.',
    );
    assert.equal(JSON.parse(retained.get(`${B}/kueche/state`)!.text).prompt_spoken, retained.get(`${B}/kueche/prompt_spoken`)?.text);

    pairing.approve();
    await whenState(link, 'linked');
    await live.waitFor((m) => m.topic === `${B}/kueche/prompt_spoken` && m.text === '', 'the spoken prompt cleared');
    retained = await retainedOn(broker.url, `${B}/kueche/+`);
    assert.equal(retained.has(`${B}/kueche/user_code_spoken`), false);
    assert.equal(retained.has(`${B}/kueche/prompt_spoken`), false);
  });
});
