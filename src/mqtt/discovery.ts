import { LINK_EVENT_TYPES, type Snapshot } from '../core/index.js';
import { haObjectId, LinkTopics, linksTopic } from './topics.js';

/** Names Home Assistant shows for the device and its entities; the Node-RED layer passes translations. */
export interface DiscoveryNames {
  /** `{link}` is replaced by the link's slug. */
  device: string;
  linkState: string;
  account: string;
  userCode: string;
  verificationUri: string;
  codeExpiresAt: string;
  tokenExpiresAt: string;
  /** The date the link needs a person again (`refresh_expires_at`). */
  refreshExpiresAt: string;
  linked: string;
  start: string;
  refresh: string;
  revoke: string;
  qr: string;
  event: string;
  /** The hub device that lists every link. */
  hub: string;
  /** Its sensor: linked links of all, e.g. `2/3`. */
  linkedAccounts: string;
}

export const ENGLISH_DISCOVERY_NAMES: DiscoveryNames = {
  device: 'Account link {link}',
  linkState: 'Link state',
  account: 'Account',
  userCode: 'User code',
  verificationUri: 'Verification URL',
  codeExpiresAt: 'Code expiry',
  tokenExpiresAt: 'Token expiry',
  refreshExpiresAt: 'Link ends',
  linked: 'Linked',
  start: 'Start linking',
  refresh: 'Refresh',
  revoke: 'Revoke',
  qr: 'QR code',
  event: 'Event',
  hub: 'Account links',
  linkedAccounts: 'Linked accounts',
};

/** Who publishes the discovery message (HA's `origin`, shown under the device's MQTT info). */
export interface DiscoveryOrigin {
  name: string;
  sw?: string;
  url?: string;
}

export const LINK_STATES: readonly Snapshot['state'][] = ['unlinked', 'pending', 'linked', 'relink_required', 'error'];

/** This package as the discovery `origin`. */
export function defaultOrigin(): DiscoveryOrigin {
  try {
    // dist/mqtt/ and src/mqtt/ both sit two levels below the package root.
    const pkg = require('../../package.json') as { name?: string; version?: string };
    return { name: pkg.name ?? 'node-red-contrib-account-link', ...(pkg.version ? { sw: pkg.version } : {}) };
  } catch {
    return { name: 'node-red-contrib-account-link' };
  }
}

/** What a Home Assistant button sends: a request with a transaction naming the sender. */
export const BUTTON_PAYLOAD = '{"transaction":"homeassistant"}';

export interface DiscoveryInput {
  prefix: string;
  baseTopic: string;
  slug: string;
  provider: string;
  names: DiscoveryNames;
  origin: DiscoveryOrigin;
  /** Whether the hub answers start, refresh and revoke over MQTT; default true. */
  buttons?: boolean;
}

/** `<prefix>/device/account_link_<L>/config`. */
export function discoveryTopic(prefix: string, slug: string): string {
  return `${prefix}/device/${haObjectId(slug)}/config`;
}

/**
 * A template for one field of the state JSON (`account.name` for a nested one), giving "None"
 * (HA's unknown) when it or anything on its path is null or missing. HA logs a warning for every
 * attribute read on null or on a missing key, on every state message, so each step is a `.get()`.
 */
function fieldTemplate(path: string): string {
  const [first, ...rest] = path.split('.');
  let expression = `value_json.get('${first}')`;
  for (const key of rest) expression = `(${expression} or {}).get('${key}')`;
  return `{{ ${expression} or 'None' }}`;
}

/**
 * The device-discovery payload for one link (HA 2024.11+ schema, abbreviated keys): one device,
 * its components under `cmps`, each with platform `p` and a unique id. Every entity reads the
 * retained `state` JSON, so it works whether or not field topics are on. The Start, Refresh and
 * Revoke buttons are there only when the hub answers those commands (`buttons`).
 */
export function discoveryPayload(input: DiscoveryInput): Record<string, unknown> {
  const topics = new LinkTopics(input.baseTopic, input.slug);
  const id = haObjectId(input.slug);
  const n = input.names;
  const uid = (key: string): string => `${id}_${key}`;
  const sensor = (key: string, name: string, extra: Record<string, unknown>): Record<string, unknown> => ({
    p: 'sensor',
    name,
    uniq_id: uid(key),
    stat_t: topics.state,
    ...extra,
  });
  // A button the hub would refuse is announced with its platform alone, which is how device
  // discovery removes a component that an earlier config (with commands on) created.
  const button = (action: 'start' | 'refresh' | 'revoke', name: string, icon: string): Record<string, unknown> =>
    input.buttons === false
      ? { p: 'button' }
      : { p: 'button', name, uniq_id: uid(action), cmd_t: topics.request(action), pl_prs: BUTTON_PAYLOAD, ic: icon };
  return {
    dev: {
      ids: [id],
      name: n.device.replace('{link}', input.slug),
      mf: 'account-link',
      mdl: input.provider,
      ...(input.origin.sw ? { sw: input.origin.sw } : {}),
    },
    o: input.origin,
    cmps: {
      link_state: sensor('link_state', n.linkState, {
        dev_cla: 'enum',
        ops: [...LINK_STATES],
        val_tpl: fieldTemplate('state'),
        ic: 'mdi:link-variant',
      }),
      account: sensor('account', n.account, { val_tpl: fieldTemplate('account.name'), ic: 'mdi:account' }),
      user_code: sensor('user_code', n.userCode, { val_tpl: fieldTemplate('user_code'), ic: 'mdi:form-textbox-password' }),
      verification_uri: sensor('verification_uri', n.verificationUri, { val_tpl: fieldTemplate('verification_uri'), ic: 'mdi:web' }),
      code_expires_at: sensor('code_expires_at', n.codeExpiresAt, { dev_cla: 'timestamp', val_tpl: fieldTemplate('code_expires_at') }),
      token_expires_at: sensor('token_expires_at', n.tokenExpiresAt, {
        dev_cla: 'timestamp',
        val_tpl: fieldTemplate('token_expires_at'),
        ent_cat: 'diagnostic',
      }),
      refresh_expires_at: sensor('refresh_expires_at', n.refreshExpiresAt, {
        dev_cla: 'timestamp',
        val_tpl: fieldTemplate('refresh_expires_at'),
        ic: 'mdi:calendar-alert',
      }),
      linked: {
        p: 'binary_sensor',
        name: n.linked,
        uniq_id: uid('linked'),
        stat_t: topics.state,
        val_tpl: "{{ 'ON' if value_json.get('state') == 'linked' else 'OFF' }}",
        ic: 'mdi:link',
      },
      start: button('start', n.start, 'mdi:link-plus'),
      refresh: button('refresh', n.refresh, 'mdi:refresh'),
      revoke: button('revoke', n.revoke, 'mdi:link-off'),
      qr: { p: 'image', name: n.qr, uniq_id: uid('qr'), img_t: topics.qr, cont_type: 'image/png' },
      event: { p: 'event', name: n.event, uniq_id: uid('event'), stat_t: topics.event, evt_typ: [...LINK_EVENT_TYPES] },
    },
    avty: [{ t: `${input.baseTopic}/status`, pl_avail: 'online', pl_not_avail: 'offline' }],
    qos: 1,
  };
}

/**
 * The hub device's object id, one per base topic: `account_links_<base>`. It can never be a link's
 * `account_link_<slug>`, which has "_" where this has "s".
 */
export function hubObjectId(baseTopic: string): string {
  return `account_links_${baseTopic.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** `<prefix>/device/account_links_<base>/config`. */
export function hubDiscoveryTopic(prefix: string, baseTopic: string): string {
  return `${prefix}/device/${hubObjectId(baseTopic)}/config`;
}

/**
 * The hub device: one "linked accounts" sensor reading the retained `B/links` array, showing
 * linked of all (`2/3`) with every link's summary as its `links` attribute.
 */
export function hubDiscoveryPayload(input: Omit<DiscoveryInput, 'slug' | 'provider'>): Record<string, unknown> {
  const id = hubObjectId(input.baseTopic);
  const topic = linksTopic(input.baseTopic);
  return {
    dev: { ids: [id], name: input.names.hub, mf: 'account-link', mdl: 'hub', ...(input.origin.sw ? { sw: input.origin.sw } : {}) },
    o: input.origin,
    cmps: {
      linked_accounts: {
        p: 'sensor',
        name: input.names.linkedAccounts,
        uniq_id: `${id}_linked_accounts`,
        stat_t: topic,
        val_tpl: "{{ value_json | selectattr('state', 'eq', 'linked') | list | count }}/{{ value_json | count }}",
        json_attr_t: topic,
        json_attr_tpl: "{{ {'links': value_json} | tojson }}",
        ic: 'mdi:account-multiple-check',
      },
    },
    avty: [{ t: `${input.baseTopic}/status`, pl_avail: 'online', pl_not_avail: 'offline' }],
    qos: 1,
  };
}
