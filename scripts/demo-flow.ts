/**
 * The flow `npm start` deploys on first start: two accounts on the demo sign-in server, one per way
 * of linking, each with buttons for every action and one debug node that shows what comes back.
 *
 * - `Demo (device code)`: the provider shows its own page for the code (like GitHub, Google, Microsoft).
 * - `Demo (pairing page)`: the hub serves the page and the provider sends the person back to a
 *   loopback redirect URI, like Spotify: automatic in a browser on the hub, the paste step on a phone.
 */
export interface DemoFlowOptions {
  issuer: string;
  clientId: string;
  mqttUrl: string;
  /** The loopback redirect URI the pairing account registers (`http://127.0.0.1:<port>/link/callback`). */
  redirectUri: string;
}

/** The demo's config node ids, by the way they link; start.ts keeps their addresses up to date. */
export const DEMO_ACCOUNTS = { device: 'demo-device-account', pairing: 'demo-pairing-account' } as const;

const TAB = 'account-link-demo';
const BROKER = 'demo-broker';

// Columns (node centres). The widest labels ("account status: Demo (pairing page)") need about
// 280 px, so each column leaves room for them and every wire runs left to right.
const BUTTONS_X = 110;
const ACTIONS_X = 410;
const LINE_X = 680;
const DEBUG_X = 900;
const ROW = 50;

/** The nodes of the demo tab, its two accounts and the broker. */
export function demoFlow(options: DemoFlowOptions): object[] {
  return [
    {
      id: TAB,
      type: 'tab',
      label: 'Account link demo',
      info:
        'Two accounts on the demo sign-in server (any user name and password sign in).\n\n' +
        '1. **Device code**: press "link", open the address the badge and the debug sidebar show, enter the code, approve.\n' +
        '2. **Pairing page, like Spotify**: press "link", open the hub\'s pairing page, enter the code, sign in. ' +
        'In a browser on this computer the page comes back by itself; on a phone it ends on an http://127.0.0.1 address ' +
        'that does not load: paste that address on the pairing page.',
    },
    {
      id: DEMO_ACCOUNTS.device,
      type: 'account-link',
      name: 'Demo (device code)',
      link: 'demo',
      provider: 'oidc',
      issuer: options.issuer,
      clientId: options.clientId,
      scope: 'openid profile offline_access',
      flow: 'auto',
      publicUrl: '',
      redirectUri: '',
      mqtt: BROKER,
      language: '',
    },
    {
      id: DEMO_ACCOUNTS.pairing,
      type: 'account-link',
      name: 'Demo (pairing page)',
      link: 'demo-pairing',
      provider: 'oidc',
      issuer: options.issuer,
      clientId: options.clientId,
      scope: 'openid profile offline_access',
      flow: 'pairing',
      publicUrl: '',
      redirectUri: options.redirectUri,
      mqtt: BROKER,
      language: '',
    },
    {
      id: BROKER,
      type: 'account-link-mqtt',
      name: 'Demo broker',
      broker: options.mqttUrl,
      clientId: '',
      protocolVersion: '4',
      baseTopic: 'account-link',
      discovery: true,
      discoveryPrefix: 'homeassistant',
      fieldTopics: true,
      keepalive: 60,
    },
    ...section('device', DEMO_ACCOUNTS.device, 'Device code: the provider shows the page for the code (like GitHub, Google, Microsoft)', 40),
    ...section('pairing', DEMO_ACCOUNTS.pairing, 'Pairing page on this hub, like Spotify: enter the code, sign in, come back', 380),
  ];
}

/**
 * One account's part of the tab, from `top` down: a heading, buttons wired to the four action
 * nodes, the watching status node with its one-line text, and a debug node for all of them.
 */
function section(key: string, account: string, heading: string, top: number): object[] {
  const id = (name: string): string => `demo-${key}-${name}`;
  const debug = id('debug');
  const row = (n: number): number => top + ROW * n;
  return [
    { id: id('heading'), type: 'comment', z: TAB, name: heading, info: '', x: 330, y: row(0), wires: [] },
    inject(id('inject-link'), 'link', '', row(1), id('start')),
    inject(id('inject-cancel'), 'cancel', 'cancel', row(2), id('start')),
    { id: id('start'), type: 'account-link-start', z: TAB, name: '', account, x: ACTIONS_X, y: row(1.5), wires: [[debug]] },
    inject(id('inject-refresh'), 'refresh', '', row(3), id('refresh')),
    { id: id('refresh'), type: 'account-link-refresh', z: TAB, name: '', account, x: ACTIONS_X, y: row(3), wires: [[debug]] },
    inject(id('inject-revoke'), 'revoke', '', row(4), id('revoke')),
    { id: id('revoke'), type: 'account-link-revoke', z: TAB, name: '', account, x: ACTIONS_X, y: row(4), wires: [[debug]] },
    { id: id('status'), type: 'account-link-status', z: TAB, name: '', account, watch: true, exposeToken: false, x: ACTIONS_X, y: row(5), wires: [[id('line')]] },
    {
      id: id('line'),
      type: 'change',
      z: TAB,
      name: 'one-line status',
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: "payload.prompt ? payload.prompt : payload.state & (payload.account ? ' · ' & payload.account.name : '')", tot: 'jsonata' }],
      x: LINE_X,
      y: row(5),
      wires: [[debug]],
    },
    { id: debug, type: 'debug', z: TAB, name: key === 'device' ? 'device code' : 'pairing page', active: true, complete: 'payload', x: DEBUG_X, y: row(3), wires: [] },
  ];
}

function inject(id: string, name: string, payload: string, y: number, target: string): object {
  return {
    id,
    type: 'inject',
    z: TAB,
    name,
    props: [{ p: 'payload' }],
    repeat: '',
    once: false,
    topic: '',
    payload,
    payloadType: payload ? 'str' : 'date',
    x: BUTTONS_X,
    y,
    wires: [[target]],
  };
}
