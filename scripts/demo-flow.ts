/** The flow `npm start` deploys on first start: link with a button, watch the state, publish over MQTT. */
export function demoFlow(options: { issuer: string; clientId: string; mqttUrl: string }): object[] {
  const tab = 'account-link-demo';
  const account = 'demo-account';
  const broker = 'demo-broker';
  return [
    { id: tab, type: 'tab', label: 'Account link demo', info: 'Press "link", open the URL, enter the code, approve.' },
    {
      id: account,
      type: 'account-link',
      name: 'Demo account',
      link: 'demo',
      provider: 'oidc',
      issuer: options.issuer,
      clientId: options.clientId,
      scope: 'openid profile offline_access',
      flow: 'auto',
      mqtt: broker,
    },
    {
      id: broker,
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
    inject('demo-inject-link', tab, 'link', '', 80, ['demo-start']),
    inject('demo-inject-cancel', tab, 'cancel', 'cancel', 140, ['demo-start']),
    { id: 'demo-start', type: 'account-link-start', z: tab, name: '', account, x: 320, y: 100, wires: [['demo-debug']] },
    inject('demo-inject-status', tab, 'status', '', 220, ['demo-status']),
    { id: 'demo-status', type: 'account-link-status', z: tab, name: '', account, watch: true, exposeToken: false, x: 320, y: 220, wires: [['demo-line']] },
    {
      id: 'demo-line',
      type: 'change',
      z: tab,
      name: 'one-line status',
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: "payload.prompt ? payload.prompt : payload.state & (payload.account ? ' · ' & payload.account.name : '')", tot: 'jsonata' }],
      x: 520,
      y: 220,
      wires: [['demo-debug']],
    },
    inject('demo-inject-refresh', tab, 'refresh', '', 300, ['demo-refresh']),
    { id: 'demo-refresh', type: 'account-link-refresh', z: tab, name: '', account, x: 320, y: 300, wires: [['demo-debug']] },
    inject('demo-inject-revoke', tab, 'revoke', '', 360, ['demo-revoke']),
    { id: 'demo-revoke', type: 'account-link-revoke', z: tab, name: '', account, x: 320, y: 360, wires: [['demo-debug']] },
    { id: 'demo-debug', type: 'debug', z: tab, name: '', active: true, complete: 'payload', x: 760, y: 220, wires: [] },
  ];
}

function inject(id: string, z: string, name: string, payload: string, y: number, target: string[]): object {
  return {
    id,
    type: 'inject',
    z,
    name,
    props: [{ p: 'payload' }],
    repeat: '',
    once: false,
    topic: '',
    payload,
    payloadType: payload ? 'str' : 'date',
    x: 120,
    y,
    wires: [target],
  };
}
