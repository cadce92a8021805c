import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TokenStore } from '../../src/core/store.js';
import { FakeSpotify } from '../helpers/fake-spotify.js';
import { accountLinkNodes, collector, helper, node, onTab, until, useNodeRed, type Msg, type TestFlow } from './fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requestNodes = require('../../dist/nodes/account-link-request.js');
const coreNodes = ['common/20-inject.js', 'common/21-debug.js', 'common/25-catch.js', 'common/90-comment.js', 'function/10-function.js', 'function/15-change.js'].map(
  (file) => require(require.resolve(`@node-red/nodes/core/${file}`, { paths: [path.dirname(require.resolve('node-red'))] })),
);

const TOKEN = 'spotify-access-token-for-the-examples-0123456789';

/**
 * The three Spotify examples, unchanged but for the client id a person types in, against a local
 * fake of the Spotify Web API: every call goes to https://api.spotify.com/v1/… as at home, with
 * the link's token, which no message ever carries.
 */
describe('Spotify examples (request node, fake Spotify Web API)', function () {
  this.timeout(30_000);
  const { userDir } = useNodeRed();
  let spotify: FakeSpotify;
  let unroute: () => void;

  beforeEach(async () => {
    spotify = await FakeSpotify.start(TOKEN);
    unroute = spotify.route();
  });
  afterEach(async () => {
    unroute();
    await spotify.close();
  });

  async function run(example: string): Promise<Msg[]> {
    const flow = JSON.parse(readFileSync(path.resolve(__dirname, '../../examples', example), 'utf8')) as Msg[];
    const account = flow.find((n) => n.type === 'account-link')!;
    account.clientId = 'my-spotify-app';
    // The example's account as it is after linking: tokens in the encrypted store, valid for an hour.
    const store = await TokenStore.open(path.join(userDir(), 'account-link'));
    const now = Date.now();
    await store.write(account.id, {
      tokens: { accessToken: TOKEN, tokenType: 'Bearer', expiresAt: now + 3600_000, refreshToken: 'spotify-refresh', scope: null, obtainedAt: now, refreshExpiresAt: now + 100 * 86_400_000 },
      account: { id: 'alice', name: 'Alice' },
      problem: null,
    });
    await helper.load([accountLinkNodes, requestNodes, ...coreNodes], onTab(flow) as TestFlow);
    return flow;
  }

  /** Every message each debug node of the flow receives, by node name. */
  function debugOutputs(flow: Msg[]): Record<string, Msg[]> {
    return Object.fromEntries(flow.filter((n) => n.type === 'debug').map((n) => [n.name, collector(n.id)]));
  }

  function assertSignedAndClean(outputs: Record<string, Msg[]>): void {
    assert.ok(spotify.calls.length > 0);
    for (const call of spotify.calls) {
      assert.equal(call.host, 'api.spotify.com');
      assert.equal(call.authorization, `Bearer ${TOKEN}`);
    }
    assert.ok(!JSON.stringify(outputs).includes(TOKEN), 'no token in any message');
  }

  it('what is playing now', async () => {
    const flow = await run('spotify-now-playing.json');
    const out = debugOutputs(flow);
    const inject = flow.find((n) => n.type === 'inject')!.id;
    node(inject).receive({});
    await until(() => out['now playing']![0], 'first answer');
    spotify.playback = { device_id: 'dev-kitchen-1', context_uri: 'spotify:playlist:1', is_playing: true, track: { name: 'Hey Jude', artist: 'The Beatles' } };
    node(inject).receive({});
    await until(() => out['now playing']![1], 'second answer');
    assert.deepEqual(out['now playing']!.map((m) => m.payload), ['Nothing is playing', 'Playing Hey Jude by The Beatles']);
    assert.deepEqual(spotify.calls.map((c) => `${c.method} ${c.path}`), Array(2).fill('GET /v1/me/player/currently-playing'));
    assert.deepEqual(out.error, []);
    assertSignedAndClean(out);
  });

  it('play a playlist on a speaker found by name', async () => {
    const flow = await run('spotify-play-on-speaker.json');
    const out = debugOutputs(flow);
    const inject = flow.find((n) => n.type === 'inject')!;
    node(inject.id).receive({});
    await until(() => out.playing![0], 'playing');
    assert.equal(out.playing![0]!.payload, 'Playing on Kitchen');
    assert.deepEqual(spotify.calls.map((c) => `${c.method} ${c.path}`), ['GET /v1/me/player/devices', 'PUT /v1/me/player/play?device_id=dev-kitchen-1']);
    assert.deepEqual(JSON.parse(spotify.calls[1]!.body), { context_uri: JSON.parse(inject.payload).playlist });
    assert.equal(spotify.playback?.device_id, 'dev-kitchen-1');
    assert.equal(spotify.playback?.is_playing, true);

    spotify.devices = spotify.devices.filter((d) => d.name !== 'Kitchen');
    node(inject.id).receive({});
    await until(() => out['no such speaker']![0], 'no such speaker');
    assert.equal(out['no such speaker']![0]!.payload, 'No speaker named "Kitchen" is on (on: Living Room)');
    assert.equal(spotify.calls.length, 3, 'no play request without a speaker');
    assert.deepEqual(out.error, []);
    assertSignedAndClean(out);
  });

  it('pause everywhere', async () => {
    const flow = await run('spotify-pause-everywhere.json');
    const out = debugOutputs(flow);
    const inject = flow.find((n) => n.type === 'inject')!.id;
    spotify.playback = { device_id: 'dev-living-2', context_uri: 'spotify:playlist:1', is_playing: true, track: { name: 'Song', artist: 'Band' } };
    node(inject).receive({});
    await until(() => out.paused![0], 'paused');
    node(inject).receive({});
    await until(() => out.paused![1], 'nothing to pause');
    assert.deepEqual(out.paused!.map((m) => m.payload), ['Paused', 'Nothing was playing']);
    assert.equal(spotify.playback.is_playing, false);
    assert.deepEqual(spotify.calls.map((c) => `${c.method} ${c.path}`), Array(2).fill('PUT /v1/me/player/pause'));
    assert.deepEqual(out.error, []);
    assertSignedAndClean(out);
  });
});
