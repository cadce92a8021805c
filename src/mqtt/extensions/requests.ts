import type { IPublishPacket } from 'mqtt';
import {
  actionOptions,
  isLinkAction,
  LINK_ACTIONS,
  LinkError,
  refusedReply,
  runAction,
  type ActionOptions,
  type ActionReply,
  type ErrorSummary,
} from '../../core/index.js';
import { Extension, type Followed, type PublisherContext } from '../extension.js';
import { isAllowedResponseTopic } from '../topics.js';

/** A reply on `B/L/response/<action>`: the core action reply plus the request's transaction. */
export type RequestReply = ActionReply & { transaction: unknown };

/**
 * Which commands MQTT clients may give: `all`, only `status` (every other action is refused with
 * `forbidden`), or `none` (nothing is subscribed, so the hub never reads a request).
 */
export type MqttCommands = 'all' | 'status' | 'none';

/** The commands setting from whatever a flow holds: anything unknown means the default, `all`. */
export function toMqttCommands(value: unknown): MqttCommands {
  return value === 'status' || value === 'none' ? value : 'all';
}

/** A request larger than this is refused: `{"transaction": ...}` never needs more. */
const MAX_REQUEST_BYTES = 4096;
const NOT_AN_OBJECT = 'The request must be empty or a JSON object like {"transaction": "1"}.';
const STATUS_ONLY = 'Over MQTT this hub answers only status requests (the Commands setting of its MQTT broker node).';

/**
 * Commands on `B/L/request/<action>`, run through the core action table and answered on
 * `B/L/response/<action>` and, for an MQTT v5 request that names an allowed one, on its response
 * topic. Under `status`, only `status` reaches the link.
 */
export class Requests extends Extension {
  constructor(
    ctx: PublisherContext,
    private readonly commands: Exclude<MqttCommands, 'none'> = 'all',
  ) {
    super(ctx, () => undefined);
  }

  override start(): void {
    this.ctx.subscribe(`${this.ctx.baseTopic}/+/request/+`, (topic, payload, packet) => this.received(topic, payload, packet));
  }

  private received(topic: string, payload: Buffer, packet: IPublishPacket): void {
    // A retained request would replay on every reconnect.
    if (packet.retain) return;
    const [slug, , action] = topic.slice(this.ctx.baseTopic.length + 1).split('/');
    const entry = this.following(slug!);
    if (!entry) return;
    void this.answer(entry, action!, payload, packet.properties).catch((err: unknown) =>
      this.ctx.log.warn(`[mqtt] request on ${quoted(topic)} failed: ${(err as Error).message}`),
    );
  }

  private async answer(
    { link, topics }: Followed<undefined>,
    action: string,
    payload: Buffer,
    properties: IPublishPacket['properties'],
  ): Promise<void> {
    const request = parseRequest(payload);
    let reply: RequestReply;
    if ('error' in request) {
      reply = { ...refusedReply(link.snapshot(), request.error), transaction: null };
    } else if (!isLinkAction(action)) {
      const unknown = new LinkError('unknown_action', `Unknown request "${action}". Use ${LINK_ACTIONS.join(', ')}.`);
      reply = { ...refusedReply(link.snapshot(), unknown), transaction: request.transaction };
    } else if (this.commands === 'status' && action !== 'status') {
      reply = { ...refusedReply(link.snapshot(), new LinkError('forbidden', STATUS_ONLY)), transaction: request.transaction };
    } else {
      reply = { ...(await runAction(link, action, request.options)).reply, transaction: request.transaction };
    }
    const body = JSON.stringify(reply);
    this.ctx.send(topics.response(action), body, false, { contentType: 'application/json' });
    const responseTopic = properties?.responseTopic;
    if (!this.ctx.v5 || !responseTopic) return;
    if (!isAllowedResponseTopic(this.ctx.baseTopic, responseTopic)) {
      this.ctx.log.warn(
        `[mqtt] ignored the response topic ${quoted(responseTopic)} of a request on ${quoted(`${topics.root}/request/${action}`)}: replies go only below ` +
          `${this.ctx.baseTopic}/, never to a request topic or one the hub publishes. The reply went to ${topics.response(action)}.`,
      );
      return;
    }
    this.ctx.send(responseTopic, body, false, {
      contentType: 'application/json',
      ...(properties?.correlationData ? { correlationData: properties.correlationData } : {}),
    });
  }
}

/** A topic a client chose, for a log line: quoted and cut short, so it cannot forge or flood lines. */
function quoted(topic: string): string {
  return JSON.stringify(topic.length > 120 ? `${topic.slice(0, 119)}…` : topic);
}

/**
 * An empty payload, or a JSON object whose optional `transaction` is echoed in the reply and whose
 * optional `replace_account` (start) lets the attempt link a different account.
 */
export function parseRequest(payload: Buffer): { transaction: unknown; options: ActionOptions } | { error: ErrorSummary } {
  if (payload.length > MAX_REQUEST_BYTES) {
    return { error: { code: 'bad_request', message: `The request is larger than ${MAX_REQUEST_BYTES} bytes.` } };
  }
  const text = payload.toString('utf8').trim();
  if (text === '') return { transaction: null, options: {} };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: { code: 'bad_request', message: NOT_AN_OBJECT } };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { error: { code: 'bad_request', message: NOT_AN_OBJECT } };
  try {
    return { transaction: (body as { transaction?: unknown }).transaction ?? null, options: actionOptions(body) };
  } catch (err) {
    // actionOptions refuses only with a LinkError (bad_request).
    return { error: (err as LinkError).toJSON() };
  }
}
