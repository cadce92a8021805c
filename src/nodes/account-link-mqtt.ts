import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import type { Link } from '../core/index.js';
import { nodeLogger } from './node-logger.js';
import { discoverBrokers, type DiscoveredBroker, type MdnsOptions } from '../mdns/index.js';
import { MqttPublisher, redactBrokerUrl, toMqttCommands, type ConnectionStatus, type DiscoveryNames, type MqttTlsOptions } from '../mqtt/index.js';

interface AccountLinkMqttDef extends NodeDef {
  broker: string;
  clientId?: string;
  protocolVersion?: string | number;
  baseTopic?: string;
  discovery?: boolean | string;
  discoveryPrefix?: string;
  fieldTopics?: boolean | string;
  /** `all`, `status` or `none`: which MQTT requests are answered. */
  commands?: string;
  tls?: string;
  keepalive?: string | number;
}

interface Credentials {
  user?: string;
  password?: string;
}

/** What the `account-link` config node calls (like core mqtt-broker's register/deregister). */
interface AccountLinkMqttNode extends Node<Credentials> {
  register(link: Link): void;
  deregister(link: Link, removed?: boolean): void;
}

interface TlsConfigNode extends Node {
  addTLSOptions?(options: MqttTlsOptions): void;
}

/** Optional `settings.js` entry: `accountLink: { mdns: { interface: '192.168.1.20' }, discoverMs: 2000 }`. */
interface AccountLinkSettings {
  mdns?: MdnsOptions;
  discoverMs?: number;
}

const NAME_KEYS: (keyof DiscoveryNames)[] = [
  'device',
  'linkState',
  'account',
  'userCode',
  'verificationUri',
  'codeExpiresAt',
  'tokenExpiresAt',
  'refreshExpiresAt',
  'linked',
  'start',
  'refresh',
  'revoke',
  'qr',
  'event',
  'hub',
  'linkedAccounts',
];

export = function accountLinkMqtt(RED: NodeAPI): void {
  const t = (key: string, values?: Record<string, string>): string => RED._(`account-link-mqtt.${key}`, values);

  const badge = (status: ConnectionStatus): NodeStatus => {
    switch (status.state) {
      case 'connected':
        return { fill: 'green', shape: 'dot', text: t('status.connected') };
      case 'connecting':
        return { fill: 'yellow', shape: 'ring', text: t('status.connecting') };
      case 'idle':
      case 'closed':
        return {};
      default:
        return { fill: 'red', shape: 'ring', text: t('status.disconnected') };
    }
  };

  function AccountLinkMqttNode(this: AccountLinkMqttNode, config: AccountLinkMqttDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let publisher: MqttPublisher | undefined;

    try {
      let tls: MqttTlsOptions | undefined;
      if (config.tls) {
        const tlsNode = RED.nodes.getNode(config.tls) as TlsConfigNode | null;
        if (tlsNode?.addTLSOptions) tlsNode.addTLSOptions((tls = {}));
      }
      const names = Object.fromEntries(NAME_KEYS.map((key) => [key, t(`ha.${key}`, { link: '{link}' })]));
      publisher = new MqttPublisher({
        broker: config.broker,
        clientId: config.clientId?.trim() || `account-link-${node.id}`,
        protocolVersion: Number(config.protocolVersion) === 4 ? 4 : 5,
        baseTopic: config.baseTopic,
        discovery: config.discovery !== false && config.discovery !== 'false',
        discoveryPrefix: config.discoveryPrefix,
        fieldTopics: config.fieldTopics !== false && config.fieldTopics !== 'false',
        commands: toMqttCommands(config.commands),
        keepalive: Number(config.keepalive) > 0 ? Number(config.keepalive) : 60,
        // The same setting Node-RED's own mqtt-broker node uses.
        reconnectPeriod: Number((RED.settings as unknown as { mqttReconnectTime?: number }).mqttReconnectTime) || 5000,
        username: node.credentials?.user || undefined,
        password: node.credentials?.password || undefined,
        tls,
        names: names as Partial<DiscoveryNames>,
        logger: nodeLogger(node),
      });
    } catch (err) {
      node.error(t('errors.config', { message: (err as Error).message }));
      node.status({ fill: 'red', shape: 'ring', text: t('status.invalid') });
    }

    const broker = redactBrokerUrl(config.broker);
    let lastState: ConnectionStatus['state'] | undefined;
    publisher?.on('status', (status) => {
      // Reconnect attempts repeat 'connecting' and 'disconnected': one log line per change is enough.
      if (status.state === lastState) return;
      lastState = status.state;
      if (status.state === 'connected') node.log(t('log.connected', { broker }));
      if (status.state === 'disconnected') node.log(t('log.disconnected', { broker, error: status.error ?? '' }));
      node.status(badge(status));
    });

    node.register = (link) => publisher?.register(link);
    node.deregister = (link, removed) => publisher?.deregister(link, { removed: Boolean(removed) });

    node.on('close', (done: () => void) => {
      if (!publisher) return done();
      publisher.close().then(done, done);
    });
  }

  RED.nodes.registerType<AccountLinkMqttNode, AccountLinkMqttDef, unknown, Credentials>(
    'account-link-mqtt',
    AccountLinkMqttNode,
    { credentials: { user: { type: 'text' }, password: { type: 'password' } } },
  );

  // One browse at a time however many editors ask: each opens a multicast socket.
  let browsing: Promise<DiscoveredBroker[]> | undefined;
  RED.httpAdmin.get('/account-link/discover/mqtt', RED.auth.needsPermission('account-link.read'), (_req, res) => {
    const settings = (RED.settings as unknown as { accountLink?: AccountLinkSettings }).accountLink ?? {};
    browsing ??= discoverBrokers({ timeoutMs: settings.discoverMs, mdns: settings.mdns }).finally(() => {
      browsing = undefined;
    });
    browsing.then(
      (brokers) => res.json({ brokers }),
      (err: unknown) => res.status(500).json({ error: { code: 'mdns_failed', message: t('errors.mdns', { message: (err as Error).message }) } }),
    );
  });
};
