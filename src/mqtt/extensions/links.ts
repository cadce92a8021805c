import type { IPublishPacket } from 'mqtt';
import { summarizeLinks } from '../../core/index.js';
import { hubDiscoveryPayload, hubDiscoveryTopic } from '../discovery.js';
import { Extension, type PublisherContext } from '../extension.js';
import { linksTopic } from '../topics.js';
import { isLiveBirth, type HomeAssistantSettings } from './home-assistant.js';

/**
 * `B/links`: one retained JSON array with every link's summary (core `summarizeLinks`), and, with
 * Home Assistant discovery on, the hub device whose "linked accounts" sensor reads it (`2/3`).
 * Changes that fall in one turn of the event loop (a connect announcing every link) are sent once,
 * and an unchanged array is not sent again within a connection.
 */
export class LinkList extends Extension {
  /** The array last sent in this connection. */
  private sent: string | undefined;
  /** Set by a connect or registration: send the array and the hub config whatever was sent before. */
  private full = false;
  private queued = false;
  private stopped = false;

  constructor(
    ctx: PublisherContext,
    private readonly homeAssistant: HomeAssistantSettings | undefined,
  ) {
    super(ctx, () => undefined);
  }

  override start(): void {
    const ha = this.homeAssistant;
    if (!ha) return;
    this.ctx.subscribe(`${ha.prefix}/status`, (_topic, payload, packet) => this.birth(payload, packet));
  }

  override stop(): void {
    // The retained array keeps the links as they were: a shutdown or redeploy is no unlinking.
    this.stopped = true;
    super.stop();
  }

  protected override publishAll(): void {
    this.full = true;
    this.queue();
  }

  protected override snapshotChanged(): void {
    this.queue();
  }

  /** A link was deleted or renamed: the array loses it (it is no longer followed). */
  override clear(): void {
    this.queue();
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.publish();
    });
  }

  private publish(): void {
    // Offline, `sent` must keep what the broker last got; the next connect sends everything anyway.
    if (this.stopped || !this.ctx.connected()) return;
    const body = JSON.stringify(summarizeLinks([...this.everyLink].map((entry) => entry.link)));
    if (this.full) this.sendHubConfig();
    if (!this.full && body === this.sent) return;
    this.full = false;
    this.sent = body;
    this.ctx.send(linksTopic(this.ctx.baseTopic), body, true, { contentType: 'application/json' });
  }

  private sendHubConfig(): void {
    const ha = this.homeAssistant;
    if (!ha) return;
    const payload = hubDiscoveryPayload({ prefix: ha.prefix, baseTopic: this.ctx.baseTopic, names: ha.names, origin: ha.origin });
    this.sendJson(hubDiscoveryTopic(ha.prefix, this.ctx.baseTopic), payload, true);
  }

  private birth(payload: Buffer, packet: IPublishPacket): void {
    if (isLiveBirth(payload, packet) && !this.stopped) this.sendHubConfig();
  }
}
