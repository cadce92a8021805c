import type { IPublishPacket } from 'mqtt';
import { discoveryPayload, discoveryTopic, type DiscoveryNames, type DiscoveryOrigin } from '../discovery.js';
import { Extension, type Followed, type PublisherContext } from '../extension.js';
import type { LinkTopics } from '../topics.js';

export interface HomeAssistantSettings {
  prefix: string;
  names: DiscoveryNames;
  origin: DiscoveryOrigin;
  /** Whether the Start, Refresh and Revoke buttons would be answered; default true. */
  buttons?: boolean;
}

/**
 * Home Assistant MQTT device discovery: one retained config per link, sent again when HA announces
 * it (re)started. The entities read the retained state topics, so those need no resending.
 */
export class HomeAssistantDiscovery extends Extension {
  constructor(
    ctx: PublisherContext,
    private readonly settings: HomeAssistantSettings,
  ) {
    super(ctx, () => undefined);
  }

  override start(): void {
    this.ctx.subscribe(`${this.settings.prefix}/status`, (_topic, payload, packet) => this.birth(payload, packet));
  }

  protected override publishAll({ link }: Followed<undefined>): void {
    const payload = discoveryPayload({
      prefix: this.settings.prefix,
      baseTopic: this.ctx.baseTopic,
      slug: link.slug,
      provider: link.snapshot().provider,
      names: this.settings.names,
      origin: this.settings.origin,
      buttons: this.settings.buttons,
    });
    this.sendJson(discoveryTopic(this.settings.prefix, link.slug), payload, true);
  }

  override clear(topics: LinkTopics): void {
    this.ctx.send(discoveryTopic(this.settings.prefix, topics.slug), '', true);
  }

  private birth(payload: Buffer, packet: IPublishPacket): void {
    if (!isLiveBirth(payload, packet)) return;
    this.ctx.log.debug('[mqtt] Home Assistant came online; announcing again');
    for (const entry of this.everyLink) this.publishAll(entry);
  }
}

/**
 * Home Assistant just (re)started and wants discovery again. A retained birth is no news: it
 * arrives on every subscribe, right after the connect that announced everything.
 */
export function isLiveBirth(payload: Buffer, packet: IPublishPacket): boolean {
  return !packet.retain && payload.toString('utf8').trim() === 'online';
}
