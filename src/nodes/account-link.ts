import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Link, LinkError, type ProviderSettings, type Snapshot } from '../core/index.js';
import { registerAdminRoutes } from './admin-routes.js';
import { register as registerRefresh } from './account-link-refresh.js';
import { register as registerRevoke } from './account-link-revoke.js';
import { register as registerStart } from './account-link-start.js';
import { register as registerStatus } from './account-link-status.js';
import {
  claimSlug,
  nodeLogger,
  pairingAddresses,
  PairingService,
  releaseSlug,
  tokenStore,
  type AccountLinkConfigNode,
} from './runtime.js';

/** DESIGN §3: the provider fields are the engine's settings; the secret comes from credentials. */
interface AccountLinkDef extends NodeDef, Omit<ProviderSettings, 'clientSecret'> {
  link: string;
  publicUrl?: string;
  redirectUri?: string;
  mqtt?: string;
  language?: string;
}

interface Credentials {
  clientSecret: string;
}

const ENDPOINT_FIELDS = [
  'issuer',
  'authorizationEndpoint',
  'tokenEndpoint',
  'deviceAuthorizationEndpoint',
  'revocationEndpoint',
  'userinfoEndpoint',
] as const;

function pickEndpoints(config: AccountLinkDef): Pick<ProviderSettings, (typeof ENDPOINT_FIELDS)[number]> {
  return Object.fromEntries(ENDPOINT_FIELDS.map((field) => [field, config[field]?.trim() || undefined]));
}

/** The MQTT config node's side of the contract (src/nodes/account-link-mqtt.ts). */
interface LinkPublisherNode extends Node {
  register(link: Link): void;
  deregister(link: Link, removed: boolean): void;
}

export = function accountLink(RED: NodeAPI): void {
  const pairing = new PairingService(RED);

  function AccountLinkNode(this: Node<Credentials>, config: AccountLinkDef) {
    RED.nodes.createNode(this, config);
    const node = this as Node<Credentials> & AccountLinkConfigNode;
    const slug = (config.link || '').trim();
    const settings: ProviderSettings = {
      provider: config.provider,
      clientId: config.clientId,
      clientSecret: node.credentials?.clientSecret || undefined,
      scope: config.scope,
      flow: config.flow || 'auto',
      ...pickEndpoints(config),
    };
    const language = config.language || undefined;
    let link: Link | undefined;
    let publisher: LinkPublisherNode | undefined;
    const publish = (snapshot: Snapshot): void => RED.comms.publish(`account-link/${node.id}`, snapshot, true);

    node.ready = (async () => {
      if (!claimSlug(slug, node.id)) {
        throw new LinkError('config', RED._('account-link.errors.slug-taken', { link: slug }));
      }
      const store = await tokenStore(RED);
      const addresses = pairingAddresses(RED, config);
      link = new Link({
        id: node.id,
        link: slug,
        settings,
        store,
        logger: nodeLogger(node),
        pairing: pairing.coordinator.method({ publicUrl: addresses.publicUrl, redirectUri: addresses.redirectUri, link: () => link }),
        formatPrompt: (parts) =>
          RED._('account-link.prompt', {
            ...parts,
            url: parts.url.replace(/^https?:\/\//, ''),
            ...(language ? { lng: language } : {}),
          }),
      });
      link.on('snapshot', publish);
      if (settings.provider === 'spotify' || settings.flow === 'pairing') pairing.use(node.id);
      await link.load();
      publish(link.snapshot());
      publisher = config.mqtt ? ((RED.nodes.getNode(config.mqtt) as LinkPublisherNode | null) ?? undefined) : undefined;
      publisher?.register(link);
      return link;
    })();
    node.ready.catch((err: unknown) => node.error(err instanceof Error ? err.message : String(err)));

    node.on('close', (removed: boolean, done: () => void) => {
      releaseSlug(slug, node.id);
      pairing.release(node.id);
      const current = link;
      if (!current) return done();
      publisher?.deregister(current, removed);
      // Deleting the node forgets its tokens; a redeploy or restart keeps them (DESIGN §8).
      (removed ? current.forget() : current.close()).then(done, (err: unknown) => {
        node.error(err instanceof Error ? err.message : String(err));
        done();
      });
    });
  }

  RED.nodes.registerType<Node<Credentials>, AccountLinkDef, unknown, Credentials>('account-link', AccountLinkNode, { credentials: { clientSecret: { type: 'password' } } });
  registerStart(RED);
  registerStatus(RED);
  registerRefresh(RED);
  registerRevoke(RED);
  registerAdminRoutes(RED);
};
