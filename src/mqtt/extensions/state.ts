import type { Snapshot } from '../../core/index.js';
import { Extension, type Followed, type PublisherContext } from '../extension.js';
import { CODE_BOUND_FIELDS, FIELD_TOPICS, type FieldTopic, type LinkTopics } from '../topics.js';

/** Field values last published in this connection, so unchanged ones are not sent again. */
type SentFields = Map<FieldTopic, string>;

/**
 * The retained JSON snapshot on `state` and, for displays and speakers that cannot read JSON, one
 * plain string per field; the code's fields expire with the code (MQTT v5).
 */
export class StateTopics extends Extension<SentFields> {
  constructor(
    ctx: PublisherContext,
    private readonly fieldTopics: boolean,
  ) {
    super(ctx, () => new Map());
  }

  protected override publishAll(entry: Followed<SentFields>): void {
    // A new connection may reach a broker that lost its retained messages: send every field.
    entry.state.clear();
    this.publish(entry, entry.link.snapshot());
  }

  protected override snapshotChanged(entry: Followed<SentFields>, snapshot: Snapshot): void {
    this.publish(entry, snapshot);
  }

  override clear(topics: LinkTopics): void {
    this.ctx.send(topics.state, '', true);
    for (const name of FIELD_TOPICS) this.ctx.send(topics.field(name), '', true);
  }

  private publish({ topics, state: sent }: Followed<SentFields>, snapshot: Snapshot): void {
    // Offline, `sent` must keep what the broker last got; the next connect sends everything anyway.
    if (!this.ctx.connected()) return;
    this.sendJson(topics.state, snapshot, true);
    if (!this.fieldTopics) return;
    const expiry = this.codeExpiry(snapshot);
    for (const name of FIELD_TOPICS) {
      const value = fieldValue(snapshot, name);
      if (sent.get(name) === value) continue;
      sent.set(name, value);
      const expires = value !== '' && CODE_BOUND_FIELDS.has(name) && expiry !== undefined;
      this.ctx.send(topics.field(name), value, true, expires ? { messageExpiryInterval: expiry } : undefined);
    }
  }
}

function fieldValue(snapshot: Snapshot, name: FieldTopic): string {
  switch (name) {
    case 'link_state':
      return snapshot.state;
    case 'account':
      return snapshot.account?.name ?? '';
    default:
      return snapshot[name] ?? '';
  }
}
