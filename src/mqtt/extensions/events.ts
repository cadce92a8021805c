import type { LinkEvent } from '../../core/index.js';
import { Extension, type Followed, type PublisherContext } from '../extension.js';

/** Each event as JSON on `event`, not retained: an event is news once, and a reconnect replays none. */
export class EventTopic extends Extension {
  constructor(ctx: PublisherContext) {
    super(ctx, () => undefined);
  }

  protected override eventHappened({ topics }: Followed<undefined>, event: LinkEvent): void {
    this.sendJson(topics.event, event, false);
  }
}
