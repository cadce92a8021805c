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
] as const;
export type FieldTopic = (typeof FIELD_TOPICS)[number];

/** Field topics that only mean something while a code is shown: they expire with it (MQTT v5). */
export const CODE_BOUND_FIELDS: ReadonlySet<FieldTopic> = new Set<FieldTopic>(['user_code', 'prompt']);

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
