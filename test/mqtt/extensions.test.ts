/**
 * The publisher's extensions on their own, with a recording context in place of the connection:
 * what each publishes for a link, and that the requests extension answers through the core action
 * table.
 */
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt';
import { silentLogger } from '../../src/core/index.js';
import type { MessageHandler, PublisherContext, PublishProperties } from '../../src/mqtt/extension.js';
import { EventTopic } from '../../src/mqtt/extensions/events.js';
import { HomeAssistantDiscovery } from '../../src/mqtt/extensions/home-assistant.js';
import { Requests, type RequestReply } from '../../src/mqtt/extensions/requests.js';
import { StateTopics } from '../../src/mqtt/extensions/state.js';
import { ENGLISH_DISCOVERY_NAMES, FIELD_TOPICS, isAllowedResponseTopic, LinkTopics, topicMatches } from '../../src/mqtt/index.js';
import { makeLink, removeTempDirs, whenState } from './links.js';

interface Sent {
  topic: string;
  text: string;
  retain: boolean;
  properties?: PublishProperties;
}

/** A context that records what is sent and lets the test deliver messages. */
class RecordingContext implements PublisherContext {
  readonly baseTopic = 'b';
  readonly v5 = true;
  readonly log = silentLogger;
  readonly clock = Date;
  online = true;
  readonly sent: Sent[] = [];
  private readonly handlers: { filter: string; handler: MessageHandler }[] = [];

  connected(): boolean {
    return this.online;
  }

  send(topic: string, payload: string | Buffer, retain: boolean, properties?: PublishProperties): void {
    if (this.online) this.sent.push({ topic, text: payload.toString(), retain, ...(properties ? { properties } : {}) });
  }

  subscribe(filter: string, handler: MessageHandler): void {
    this.handlers.push({ filter, handler });
  }

  deliver(topic: string, payload: string, packet: Partial<IPublishPacket> = {}): void {
    for (const { filter, handler } of this.handlers) {
      if (topicMatches(filter, topic)) handler(topic, Buffer.from(payload), { retain: false, ...packet } as IPublishPacket);
    }
  }

  topics(): string[] {
    return this.sent.splice(0).map((m) => m.topic);
  }
}

describe('MQTT publisher extensions', function () {
  afterEach(removeTempDirs);

  it('topic filters match as MQTT does', () => {
    const cases: [string, string, boolean][] = [
      ['b/+/request/+', 'b/den/request/start', true],
      ['b/+/request/+', 'b/den/request', false],
      ['b/+/request/+', 'b/den/request/start/x', false],
      ['b/+/request/+', 'c/den/request/start', false],
      ['homeassistant/status', 'homeassistant/status', true],
      ['a/#', 'a', true],
      ['a/#', 'a/b/c', true],
    ];
    for (const [filter, topic, expected] of cases) assert.equal(topicMatches(filter, topic), expected, `${filter} ~ ${topic}`);
  });

  it('state topics: everything on announce, only what changed after, nothing offline, all emptied on clear', async () => {
    const ctx = new RecordingContext();
    const { link } = await makeLink('den', { linked: true });
    const topics = new LinkTopics(ctx.baseTopic, link.slug);
    const state = new StateTopics(ctx, true);
    state.attach(link, topics);
    state.announce(link);
    assert.deepEqual(ctx.topics(), [topics.state, ...FIELD_TOPICS.map((f) => topics.field(f))]);

    await link.start();
    const codeFields = ['link_state', 'user_code', 'verification_uri', 'code_expires_at', 'prompt', 'user_code_spoken', 'prompt_spoken'];
    assert.deepEqual(ctx.topics(), [topics.state, ...codeFields.map((f) => `b/den/${f}`)]);
    ctx.online = false;
    link.cancel();
    await whenState(link, 'linked');
    ctx.online = true;
    state.announce(link);
    assert.equal(ctx.sent.find((m) => m.topic === 'b/den/user_code')?.text, '', 'the cleared code is sent after the outage');
    ctx.topics();

    state.detach(link);
    await link.start();
    assert.deepEqual(ctx.topics(), [], 'a detached link is not followed');
    state.clear(topics);
    assert.ok(ctx.sent.every((m) => m.text === '' && m.retain));
    assert.deepEqual(ctx.topics(), [topics.state, ...FIELD_TOPICS.map((f) => topics.field(f))]);
    link.cancel();
  });

  it('events go out once, not retained, as JSON', async () => {
    const ctx = new RecordingContext();
    const { link } = await makeLink('hall');
    const events = new EventTopic(ctx);
    events.attach(link, new LinkTopics(ctx.baseTopic, link.slug));
    events.announce(link);
    assert.equal(ctx.sent.length, 0, 'nothing to announce');
    await link.start();
    assert.deepEqual(
      ctx.sent.map((m) => [m.topic, JSON.parse(m.text).event_type, m.retain, m.properties?.contentType]),
      [['b/hall/event', 'linking_started', false, 'application/json']],
    );
    events.stop();
    link.cancel();
    assert.equal(ctx.sent.length, 1, 'stopped');
  });

  it('Home Assistant: a live birth resends the configs, a retained one does not; clear empties the config', async () => {
    const ctx = new RecordingContext();
    const ha = new HomeAssistantDiscovery(ctx, { prefix: 'ha', names: ENGLISH_DISCOVERY_NAMES, origin: { name: 'test' } });
    ha.start();
    const { link } = await makeLink('den');
    ha.attach(link, new LinkTopics(ctx.baseTopic, link.slug));
    ctx.deliver('ha/status', 'online', { retain: true });
    ctx.deliver('ha/status', 'offline');
    assert.deepEqual(ctx.topics(), []);
    ctx.deliver('ha/status', 'online');
    assert.deepEqual(ctx.topics(), ['ha/device/account_link_den/config']);
    ha.clear(new LinkTopics(ctx.baseTopic, 'den'));
    assert.deepEqual(ctx.sent.map((m) => [m.topic, m.text, m.retain]), [['ha/device/account_link_den/config', '', true]]);
  });

  it('requests answer with the core action reply plus the transaction, revoke included', async () => {
    const ctx = new RecordingContext();
    const requests = new Requests(ctx);
    requests.start();
    const { link } = await makeLink('den', { linked: true, spotify: true });
    requests.attach(link, new LinkTopics(ctx.baseTopic, link.slug));

    const ask = async (action: string, payload: string): Promise<RequestReply> => {
      const count = ctx.sent.length;
      ctx.deliver(`b/den/request/${action}`, payload);
      for (let i = 0; i < 100 && ctx.sent.length === count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const reply = ctx.sent.at(-1)!;
      assert.equal(reply.topic, `b/den/response/${action}`);
      return JSON.parse(reply.text) as RequestReply;
    };
    const keys = ['data', 'error', 'manageUrl', 'status', 'transaction'];

    let reply = await ask('status', '{"transaction":"t"}');
    assert.deepEqual(Object.keys(reply).sort(), keys);
    assert.deepEqual([reply.status, reply.data.state, reply.error, reply.manageUrl, reply.transaction], ['ok', 'linked', null, null, 't']);

    reply = await ask('revoke', '{"transaction":"bye"}');
    assert.deepEqual(Object.keys(reply).sort(), keys, 'revoke answers the same shape');
    assert.deepEqual([reply.status, reply.data.state, reply.manageUrl, reply.transaction], ['ok', 'unlinked', 'https://www.spotify.com/account/apps/', 'bye']);

    reply = await ask('frobnicate', '{"transaction":5}');
    assert.deepEqual([reply.status, reply.error?.code, reply.manageUrl, reply.transaction], ['error', 'unknown_action', null, 5]);
    reply = await ask('status', '[1]');
    assert.deepEqual([reply.status, reply.error?.code, reply.transaction], ['error', 'bad_request', null]);
    assert.deepEqual(Object.keys(reply).sort(), keys);

    const answered = ctx.sent.length;
    ctx.deliver('b/den/request/status', '', { retain: true });
    ctx.deliver('b/nobody/request/status', '');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(ctx.sent.length, answered, 'retained requests and unknown links get no answer');
  });
  it('status-only commands: status is answered, every other action is refused with forbidden and changes nothing', async () => {
    const ctx = new RecordingContext();
    const requests = new Requests(ctx, 'status');
    requests.start();
    const { link } = await makeLink('den', { linked: true });
    requests.attach(link, new LinkTopics(ctx.baseTopic, link.slug));

    const replies: [string, string, string | null, unknown][] = [];
    for (const action of ['revoke', 'start', 'refresh', 'cancel', 'status']) {
      const count = ctx.sent.length;
      ctx.deliver(`b/den/request/${action}`, JSON.stringify({ transaction: action }));
      for (let i = 0; i < 100 && ctx.sent.length === count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const sent = ctx.sent.at(-1)!;
      const reply = JSON.parse(sent.text) as RequestReply;
      replies.push([sent.topic, reply.status, reply.error?.code ?? null, reply.transaction]);
      if (reply.error) assert.match(reply.error.message, /only status requests/);
      assert.equal(reply.data.state, 'linked');
    }
    assert.deepEqual(replies, [
      ['b/den/response/revoke', 'error', 'forbidden', 'revoke'],
      ['b/den/response/start', 'error', 'forbidden', 'start'],
      ['b/den/response/refresh', 'error', 'forbidden', 'refresh'],
      ['b/den/response/cancel', 'error', 'forbidden', 'cancel'],
      ['b/den/response/status', 'ok', null, 'status'],
    ]);
    assert.equal(link.snapshot().state, 'linked', 'the link is as it was');
  });

  it('a v5 response topic is used only below the base topic, without a request level, and not on a topic the hub publishes', () => {
    const cases: [string, boolean][] = [
      ['b/replies/kitchen', true],
      ['b/den/speaker', true],
      ['b/den/replies/x', true],
      ['b/replies', true],
      ['zigbee2mqtt/front_door_lock/set', false],
      ['b', false],
      ['bb/replies', false],
      ['b/den/request/revoke', false],
      ['b/request/x', false],
      ['b/x/y/request', false],
      ['b/status', false],
      ['b/den/state', false],
      ['b/den/user_code', false],
      ['b/den/qr', false],
      ['b/den/event', false],
      ['b/den/response/status', false],
      ['b//x', false],
      ['b/x/', false],
      ['b/+/x', false],
      ['b/#', false],
    ];
    for (const [topic, allowed] of cases) assert.equal(isAllowedResponseTopic('b', topic), allowed, topic);
  });

  it('Home Assistant: without commands, the buttons are announced as removed and nothing else changes', async () => {
    const withButtons = new RecordingContext();
    const without = new RecordingContext();
    const settings = { prefix: 'ha', names: ENGLISH_DISCOVERY_NAMES, origin: { name: 'test' } };
    const full = new HomeAssistantDiscovery(withButtons, settings);
    const statusOnly = new HomeAssistantDiscovery(without, { ...settings, buttons: false });
    const { link } = await makeLink('den');
    for (const [ha, ctx] of [[full, withButtons], [statusOnly, without]] as const) {
      ha.attach(link, new LinkTopics(ctx.baseTopic, link.slug));
      ha.announce(link);
    }
    const a = JSON.parse(withButtons.sent[0]!.text) as { cmps: Record<string, Record<string, unknown>> };
    const b = JSON.parse(without.sent[0]!.text) as { cmps: Record<string, Record<string, unknown>> };
    for (const action of ['start', 'refresh', 'revoke']) {
      assert.equal(a.cmps[action]!.cmd_t, `b/den/request/${action}`);
      assert.deepEqual(b.cmps[action], { p: 'button' }, `${action}: platform only, which removes it`);
    }
    assert.deepEqual(Object.keys(b.cmps), Object.keys(a.cmps));
    for (const key of Object.keys(a.cmps).filter((k) => !['start', 'refresh', 'revoke'].includes(k))) {
      assert.deepEqual(b.cmps[key], a.cmps[key], key);
    }
  });
});
