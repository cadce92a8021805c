import { qrcode, type Snapshot } from '../../core/index.js';
import { Extension, type Followed, type PublisherContext } from '../extension.js';
import type { LinkTopics } from '../topics.js';

interface QrState {
  /** URL whose QR code was last published ('' = cleared). */
  sentUrl: string | undefined;
  /** The last PNG drawn, kept because drawing costs milliseconds of CPU and a reconnect resends it. */
  drawn: { url: string; png: Buffer } | undefined;
}

/** A PNG QR code of the verification address on `qr` while a code is shown, expiring with it. */
export class QrImage extends Extension<QrState> {
  constructor(ctx: PublisherContext) {
    super(ctx, () => ({ sentUrl: undefined, drawn: undefined }));
  }

  protected override publishAll(entry: Followed<QrState>): void {
    this.publish(entry, entry.link.snapshot(), true);
  }

  protected override snapshotChanged(entry: Followed<QrState>, snapshot: Snapshot): void {
    this.publish(entry, snapshot, false);
  }

  override clear(topics: LinkTopics): void {
    this.ctx.send(topics.qr, '', true);
  }

  private publish(entry: Followed<QrState>, snapshot: Snapshot, full: boolean): void {
    if (!this.ctx.connected()) return;
    const { state, topics } = entry;
    const url = qrUrl(snapshot);
    if (!full && state.sentUrl === url) return;
    state.sentUrl = url;
    if (url === '') {
      this.ctx.send(topics.qr, '', true);
      return;
    }
    if (state.drawn?.url === url) {
      this.sendPng(entry, state.drawn.png);
      return;
    }
    // Not inside the snapshot listener: the state topics go out first.
    setImmediate(() => {
      qrcode().toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 6 }).then(
        (png) => {
          state.drawn = { url, png };
          // The link may have moved on, or been dropped, while the image was drawn.
          if (this.following(entry.link.slug) !== entry || qrUrl(entry.link.snapshot()) !== url) return;
          this.sendPng(entry, png);
        },
        (err: unknown) => this.ctx.log.warn(`[mqtt] could not draw the QR code: ${(err as Error).message}`),
      );
    });
  }

  private sendPng({ link, topics }: Followed<QrState>, png: Buffer): void {
    const expiry = this.codeExpiry(link.snapshot());
    this.ctx.send(topics.qr, png, true, {
      contentType: 'image/png',
      ...(expiry !== undefined ? { messageExpiryInterval: expiry } : {}),
    });
  }
}

/** What the QR code encodes while a code is shown; '' otherwise. */
function qrUrl(snapshot: Snapshot): string {
  if (snapshot.state !== 'pending') return '';
  return snapshot.verification_uri_complete ?? snapshot.verification_uri ?? '';
}
