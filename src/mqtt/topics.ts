import { LinkError } from '../core/index.js';

/** Commands a client may send on `B/L/request/<action>` (DESIGN §5). */
export const ACTIONS = ['start', 'cancel', 'refresh', 'revoke', 'status'] as const;
export type Action = (typeof ACTIONS)[number];

/** Plain-string topics for displays, in the order they are published. */
export const FIELD_TOPICS = [
  'link_state',
  'user_code',
  'verification_uri',
  'code_expires_at',
  'account',
  'token_expires_at',
  'prompt',
] as const;
export type FieldTopic = (typeof FIELD_TOPICS)[number];

/** Field topics that only mean something while a code is shown: they expire with it (MQTT v5). */
export const CODE_BOUND_FIELDS: ReadonlySet<FieldTopic> = new Set<FieldTopic>(['user_code', 'prompt']);

export function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
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
  request(action: Action): string {
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
