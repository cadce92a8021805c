import { LinkError, type LinkAction } from '../core/index.js';

/** Plain-string topics for displays, in the order they are published. */
export const FIELD_TOPICS = [
  'link_state',
  'user_code',
  'verification_uri',
  'code_expires_at',
  'account',
  'token_expires_at',
  'refresh_expires_at',
  'prompt',
  'user_code_spoken',
  'prompt_spoken',
] as const;
export type FieldTopic = (typeof FIELD_TOPICS)[number];

/** Field topics that only mean something while a code is shown: they expire with it (MQTT v5). */
export const CODE_BOUND_FIELDS: ReadonlySet<FieldTopic> = new Set<FieldTopic>(['user_code', 'prompt', 'user_code_spoken', 'prompt_spoken']);

/** `B/links`: the retained JSON array of every link's summary on this broker. */
export function linksTopic(base: string): string {
  return `${base}/links`;
}

/**
 * Checks a base or discovery prefix: one or more topic levels, no wildcards, no empty level.
 * Surrounding slashes are dropped, since `/x/` would make every topic start with an empty level.
 */
export function normalizeTopicRoot(value: string | undefined, fallback: string, field: string): string {
  const root = (value ?? '').trim().replace(/^\/+|\/+$/g, '') || fallback;
  if (/[+#\u0000]/.test(root) || root.split('/').some((level) => level === '')) {
    throw new LinkError('config', `The ${field} "${root}" may not contain "+", "#" or empty levels.`);
  }
  return root;
}

/** Topic names of one link below the base topic. */
export class LinkTopics {
  constructor(
    readonly base: string,
    readonly slug: string,
  ) {}

  get root(): string {
    return `${this.base}/${this.slug}`;
  }
  get state(): string {
    return `${this.root}/state`;
  }
  get event(): string {
    return `${this.root}/event`;
  }
  get qr(): string {
    return `${this.root}/qr`;
  }
  field(name: FieldTopic): string {
    return `${this.root}/${name}`;
  }
  request(action: LinkAction): string {
    return `${this.root}/request/${action}`;
  }
  response(action: string): string {
    return `${this.root}/response/${action}`;
  }
}

/** Last levels of what the hub publishes under `B/L/` (besides `response/<action>`). */
const LINK_LEAVES: ReadonlySet<string> = new Set<string>(['state', 'event', 'qr', ...FIELD_TOPICS]);

/**
 * Whether an MQTT v5 request may name `topic` as its response topic. The hub publishes with its
 * own broker rights, so a reply goes only below the base topic, never to a topic with a `request`
 * level (the hub would command itself), and never onto a topic the hub publishes itself
 * (availability, a link's state, fields, QR, events and replies), where readers expect those.
 */
export function isAllowedResponseTopic(base: string, topic: string): boolean {
  if (!topic.startsWith(`${base}/`) || /[+#\u0000]/.test(topic)) return false;
  const levels = topic.slice(base.length + 1).split('/');
  if (levels.includes('request') || levels.includes('')) return false;
  if (levels.length === 1) return levels[0] !== 'status';
  if (levels.length === 2) return !LINK_LEAVES.has(levels[1]!);
  return levels[1] !== 'response';
}

/**
 * Home Assistant accepts only `[a-zA-Z0-9_-]` in discovery topics and wants entity ids made of
 * `[a-z0-9_]`. Slugs are `[a-z0-9-]`, so turning "-" into "_" is safe and one-to-one (a slug never
 * holds "_").
 */
export function haObjectId(slug: string): string {
  return `account_link_${slug.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** Whether `topic` matches the subscription `filter` (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const wanted = filter.split('/');
  const levels = topic.split('/');
  for (let i = 0; i < wanted.length; i++) {
    if (wanted[i] === '#') return true;
    if (i >= levels.length || (wanted[i] !== '+' && wanted[i] !== levels[i])) return false;
  }
  return wanted.length === levels.length;
}
