import type { Node, NodeAPI, NodeDef } from 'node-red';
import { codeStyleOf, Link, LinkError, type AccountChangePolicy, type ProviderSettings, type Snapshot } from '../core/index.js';
import { registerAdminRoutes } from './admin-routes.js';
import type { AccountLinkConfigNode } from './config-node.js';
import { forgetRemovedLinks } from './forget-removed-links.js';
import { nodeLogger } from './node-logger.js';
import { pairingAddresses } from './pairing-addresses.js';
import { PairingService } from './pairing-service.js';
import { promptFormatter, relinkPromptFormatter, speechOptions } from './prompt-formatter.js';
import { trackLink, untrackLink } from './running-links.js';
import { refreshRequests } from './runtime-settings.js';
import { claimSlug, releaseSlug } from './slug-owners.js';
import { tokenStore } from './token-store.js';
import { register as registerRefresh } from './account-link-refresh.js';
import { register as registerRevoke } from './account-link-revoke.js';
import { register as registerStart } from './account-link-start.js';
import { register as registerStatus } from './account-link-status.js';

/** The provider fields are the engine's settings as they are; only the secret comes from credentials. */
interface AccountLinkDef extends NodeDef, Omit<ProviderSettings, 'clientSecret' | 'name'> {
  link: string;
  publicUrl?: string;
  redirectUri?: string;
  mqtt?: string;
  language?: string;
  accountChange?: AccountChangePolicy;
  /** `letters` (default) or `digits`: how the pairing page's codes look. */
  codeStyle?: string;
  /** Days before the provider ends the link of the first relink warning; empty for the default. */
  relinkLead?: string | number;
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
      name: config.name,
      ...pickEndpoints(config),
    };
    let link: Link | undefined;
    let publisher: LinkPublisherNode | undefined;
    const publish = (snapshot: Snapshot): void => RED.comms.publish(`account-link/${node.id}`, snapshot, true);

    node.ready = (async () => {
      if (!claimSlug(slug, node.id)) {
        throw new LinkError('config', RED._('account-link.errors.slug-taken', { link: slug }));
      }
      // The previous instance of this node (a redeploy) must have saved its last refresh first.
      await closing.get(node.id);
      const store = await tokenStore(RED);
      const addresses = pairingAddresses(RED, config);
      link = new Link({
        id: node.id,
        slug,
        name: config.name,
        settings,
        store,
        logger: nodeLogger(node),
        pairing: pairing.methodFor(node, {
          publicUrl: addresses.publicUrl,
          redirectUri: addresses.redirectUri,
          source: () => link,
          codeStyle: codeStyleOf(config.codeStyle),
        }),
        formatPrompt: promptFormatter(RED, config.language),
        accountChange: config.accountChange === 'allow' ? 'allow' : 'refuse',
        speech: speechOptions(RED, config.language),
        formatRelinkPrompt: relinkPromptFormatter(RED, config.language),
        relinkLeadDays: config.relinkLead === undefined || config.relinkLead === '' ? undefined : Number(config.relinkLead),
        refreshRequests: refreshRequests(RED),
      });
      // Every action node, the editor and each MQTT extension listen: more than EventEmitter's 10 is normal.
      link.setMaxListeners(0);
      link.on('snapshot', publish);
      pairing.expect(node, settings);
      await link.load();
      trackLink(node.id, link, settings.clientId);
      publish(link.snapshot());
      publisher = config.mqtt ? ((RED.nodes.getNode(config.mqtt) as LinkPublisherNode | null) ?? undefined) : undefined;
      publisher?.register(link);
      return link;
    })();
    node.ready.catch((err: unknown) => node.error(err instanceof Error ? err.message : String(err)));

    // `removed` is also true when the node is only disabled, so tokens are never deleted here: a
    // node that is gone from the deployed flows has its file deleted by forgetRemovedLinks().
    node.on('close', (removed: boolean, done: () => void) => {
      releaseSlug(slug, node.id);
      const closed = node.ready.then(
        async (current) => {
          publisher?.deregister(current, removed);
          untrackLink(node.id, current);
          await current.close();
        },
        () => undefined,
      );
      closing.set(node.id, closed);
      closed
        .catch((err: unknown) => node.error(err instanceof Error ? err.message : String(err)))
        .finally(() => {
          // Only now: a code asked for while the node was closing has used the page too.
          pairing.release(node);
          if (closing.get(node.id) === closed) closing.delete(node.id);
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
  forgetRemovedLinks(RED);
};

/** Closing Links by node id, so a redeployed node loads only after its predecessor has saved. */
const closing = new Map<string, Promise<void>>();
