import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import {
  englishPrompt,
  LinkError,
  TokenStore,
  type Link,
  type LinkErrorCode,
  type PromptFormatter,
  type Snapshot,
} from '../core/index.js';
import { PairingCoordinator } from '../core/pairing.js';
import { advertisePairingPage, type PairingAdvert } from '../mdns/pairing-advert.js';
import { defaultPublicUrl, mountPairingPage, suggestedRedirectUri } from '../web/index.js';

/** What the `account-link` config node offers the action nodes and admin routes. */
export interface AccountLinkConfigNode extends Node {
  /** Settles once the stored link is loaded; rejects with a LinkError when the node is misconfigured. */
  ready: Promise<Link>;
}

/** One token store per Node-RED runtime, under `<userDir>/account-link/` (DESIGN §8). */
let storePromise: Promise<TokenStore> | undefined;
let storeDir: string | undefined;

export function tokenStore(RED: NodeAPI): Promise<TokenStore> {
  const dir = path.join(String(RED.settings.userDir ?? process.cwd()), 'account-link');
  if (!storePromise || storeDir !== dir) {
    storeDir = dir;
    // A failed open (a full disk, a permission fixed later) is tried again at the next deploy.
    storePromise = TokenStore.open(dir).catch((err: unknown) => {
      storePromise = undefined;
      throw err;
    });
  }
  return storePromise;
}

/** Slugs in use, so two config nodes cannot publish to the same topics. */
const slugOwners = new Map<string, string>();

export function claimSlug(slug: string, nodeId: string): boolean {
  const owner = slugOwners.get(slug);
  if (owner && owner !== nodeId) return false;
  slugOwners.set(slug, nodeId);
  return true;
}

export function releaseSlug(slug: string, nodeId: string): void {
  if (slugOwners.get(slug) === nodeId) slugOwners.delete(slug);
}

/** The error text people see: the catalog's words for the code, else the engine's English message. */
export function localizedError(RED: NodeAPI, error: { code: LinkErrorCode | string; message: string }): string {
  const key = `account-link.errors.${error.code}`;
  const text = RED._(key);
  return text && text !== key ? text : error.message;
}

type Badge = { fill: 'grey' | 'yellow' | 'green' | 'red'; shape: 'dot' | 'ring'; text: string };

/** DESIGN §3 status badges. */
export function badgeFor(RED: NodeAPI, snapshot: Snapshot): Badge {
  switch (snapshot.state) {
    case 'pending':
      return { fill: 'yellow', shape: 'ring', text: RED._('account-link.status.pending', { code: snapshot.user_code ?? '' }) };
    case 'linked':
      return {
        fill: 'green',
        shape: 'dot',
        text: RED._('account-link.status.linked', { account: snapshot.account?.name ?? snapshot.account?.id ?? '' }),
      };
    case 'relink_required':
      return { fill: 'red', shape: 'ring', text: RED._('account-link.status.relink_required') };
    case 'error':
      return {
        fill: 'red',
        shape: 'ring',
        text: snapshot.error ? localizedError(RED, snapshot.error) : RED._('account-link.status.error'),
      };
    default:
      return { fill: 'grey', shape: 'dot', text: RED._('account-link.status.unlinked') };
  }
}

/** Any thrown value as a LinkError, for `msg.error` and `done(err)`. */
export function asLinkError(err: unknown): LinkError {
  if (err instanceof LinkError) return err;
  return new LinkError('provider_error', err instanceof Error ? err.message : String(err));
}

/** Where a phone reaches the pairing page, and the redirect URI to register (DESIGN §3 defaults). */
export interface PairingAddresses {
  publicUrl: string;
  redirectUri: string;
  httpNodeRoot: string;
}

export function pairingAddresses(
  RED: NodeAPI,
  config: { provider: string; publicUrl?: string; redirectUri?: string },
): PairingAddresses {
  const port = Number(RED.settings.uiPort ?? 1880);
  const root = RED.settings.httpNodeRoot === false ? '/' : String(RED.settings.httpNodeRoot ?? '/');
  const publicUrl = (config.publicUrl || defaultPublicUrl(port, root) || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const redirectUri =
    config.redirectUri || suggestedRedirectUri({ provider: config.provider, publicUrl, port, httpNodeRoot: root });
  return { publicUrl, redirectUri, httpNodeRoot: root.replace(/\/?$/, '/') };
}

/**
 * The pairing page, once per runtime: the coordinator every Link without a device flow uses, the
 * page's routes on Node-RED's HTTP node server, and (while such a Link exists) its mDNS advert.
 */
export class PairingService {
  readonly coordinator: PairingCoordinator;
  /** False when Node-RED serves no HTTP nodes (`httpNodeRoot: false`): there is no page to open. */
  readonly available: boolean;
  private advert: PairingAdvert | undefined;
  private readonly users = new Set<string>();

  constructor(private readonly RED: NodeAPI) {
    const root = RED.settings.httpNodeRoot;
    this.coordinator = new PairingCoordinator({
      httpNodeRoot: root === false ? '/' : String(root ?? '/'),
      log: (message) => RED.log.debug(`[account-link] ${message}`),
    });
    this.available = root !== false;
    if (this.available) {
      mountPairingPage(RED.httpNode, { coordinator: this.coordinator, log: (message) => RED.log.warn(`[account-link] ${message}`) });
    }
  }

  /** Advertises the page while at least one pairing link is deployed. */
  use(nodeId: string): void {
    this.users.add(nodeId);
    if (this.advert || this.RED.settings.httpNodeRoot === false || !mdnsAllowed(this.RED)) return;
    try {
      this.advert = advertisePairingPage({
        port: Number(this.RED.settings.uiPort ?? 1880),
        httpNodeRoot: String(this.RED.settings.httpNodeRoot ?? '/'),
      });
    } catch (err) {
      this.RED.log.warn(`[account-link] mDNS advertisement failed: ${(err as Error).message}`);
    }
  }

  release(nodeId: string): void {
    this.users.delete(nodeId);
    if (this.users.size > 0 || !this.advert) return;
    const advert = this.advert;
    this.advert = undefined;
    void advert.stop();
  }
}

/** `accountLink: { mdns: false }` in settings.js keeps the runtime off multicast (tests, locked-down hosts). */
export function mdnsAllowed(RED: NodeAPI): boolean {
  const options = (RED.settings as unknown as { accountLink?: { mdns?: boolean } }).accountLink;
  return options?.mdns !== false;
}

/**
 * The spoken/displayed prompt in the node's `language`, or the runtime's when it is empty.
 * Node-RED loads catalogs only for the runtime's language, so other languages are read from
 * `locales/<lang>/account-link.json` beside this file.
 */
export function promptFormatter(RED: NodeAPI, language: string | undefined): PromptFormatter {
  const template = language ? promptTemplate(language) : undefined;
  return (parts) => {
    const values = { ...parts, url: parts.url.replace(/^https?:\/\//, '') };
    if (template) return template.replace(/__(\w+)__/g, (whole, name: string) => values[name as keyof typeof values] ?? whole);
    const text = RED._('account-link.prompt', values);
    return text && text !== 'account-link.prompt' ? text : englishPrompt(parts);
  };
}

const promptTemplates = new Map<string, string | undefined>();

function promptTemplate(language: string): string | undefined {
  if (!promptTemplates.has(language)) {
    const candidates = [language, language.split('-')[0]];
    let found: string | undefined;
    for (const candidate of candidates) {
      try {
        const file = path.join(__dirname, 'locales', candidate, 'account-link.json');
        const catalog = JSON.parse(readFileSync(file, 'utf8')) as { 'account-link'?: { prompt?: string } };
        found = catalog['account-link']?.prompt;
      } catch {
        found = undefined;
      }
      if (found) break;
    }
    promptTemplates.set(language, found);
  }
  return promptTemplates.get(language);
}

/**
 * Deletes the token file of an `account-link` node once a deploy has removed it from the flows
 * (DESIGN §8). Only nodes this process saw deployed are considered, so a flows file that failed
 * to load, or belongs to another project, never costs anyone their links.
 */
export function forgetRemovedLinks(RED: NodeAPI): void {
  let deployed: Set<string> | undefined;
  RED.events.on('flows:started', () => {
    const current = new Set<string>();
    RED.nodes.eachNode((node) => {
      if (node.type === 'account-link') current.add(node.id);
    });
    const previous = deployed;
    deployed = current;
    if (!previous) return;
    const gone = [...previous].filter((id) => !current.has(id));
    if (gone.length === 0) return;
    void tokenStore(RED)
      .then((store) => Promise.all(gone.map((id) => store.delete(id))))
      .then(
        () => RED.log.info(`[account-link] deleted the saved tokens of ${gone.length} removed account node(s)`),
        (err: unknown) => RED.log.warn(`[account-link] could not delete saved tokens: ${(err as Error).message}`),
      );
  });
}
