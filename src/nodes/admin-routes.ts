import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import {
  actionOptions,
  createProviderFetch,
  expectedFlow,
  LINK_ACTIONS,
  LinkError,
  qrcode,
  profileSummaries,
  redirectUriProblem,
  refusedReply,
  runAction,
  systemClock,
  toLinkError,
  type ActionOptions,
  type FlowChoice,
  type Link,
  type ProviderKind,
} from '../core/index.js';
import { accountLinkNode } from './config-node.js';
import { pairingAddresses } from './pairing-addresses.js';
import { runningApps, runningSummaries } from './running-links.js';
import { uiPort } from './runtime-settings.js';

/**
 * The editor's window onto deployed links. Reads need `account-link.read`, actions
 * `account-link.write`. Nothing secret is ever sent: only snapshots, public settings and a QR of
 * the public URL.
 *
 * - `GET account-link/profiles`: the provider profiles' summaries (presets, hints, console pages).
 * - `GET account-link/info?provider&flow&issuer&…&publicUrl&redirectUri`: the addresses the runtime
 *   would use, and the flow it would link with (so the dialog asks for a redirect URI only when needed).
 * - `GET account-link/links`: every running link's summary (the MQTT `links` array).
 * - `GET account-link/apps`: people linked per app (client id), with the provider's limit.
 * - `GET account-link/:id`: the snapshot. `GET account-link/:id/qr`: the code's address as a PNG.
 * - `POST account-link/:id/<start|cancel|refresh|revoke|status>`: the action's `ActionReply`,
 *   200 when ok, 400 when it failed. `start` takes `{"replace_account": true}` as its JSON body.
 * A node that is not deployed answers 404 `{error}` (`not_deployed`), one that failed to start 409 `{error}`.
 */
export function registerAdminRoutes(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('account-link.read');
  const write = RED.auth.needsPermission('account-link.write');

  const withLink = async (req: Request, res: Response): Promise<Link | undefined> => {
    const node = accountLinkNode(RED, String(req.params.id));
    if (!node) {
      res.status(404).json({ error: { code: 'not_deployed', message: RED._('account-link.errors.not-deployed') } });
      return undefined;
    }
    try {
      return await node.ready;
    } catch (err) {
      res.status(409).json({ error: toLinkError(err, 'the provider').toJSON() });
      return undefined;
    }
  };

  RED.httpAdmin.get('/account-link/profiles', read, (_req, res) => {
    res.json(profileSummaries());
  });

  // Defaults the dialog shows before a node is deployed: where phones reach the hub, what to
  // register, and whether the provider is known to refuse that redirect URI.
  // Discovery for the dialog's question must not keep it waiting as long as linking may.
  const probe = createProviderFetch({ connectTimeoutMs: 3000, responseTimeoutMs: 3000 }, systemClock);
  RED.httpAdmin.get('/account-link/info', read, async (req, res) => {
    const query = (name: string): string | undefined => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    const provider = query('provider') ?? 'spotify';
    const addresses = pairingAddresses(RED, { provider, publicUrl: query('publicUrl'), redirectUri: query('redirectUri') });
    const chosen = query('flow');
    const flow = await expectedFlow(
      {
        provider: provider as ProviderKind,
        clientId: '',
        flow: chosen === 'device' || chosen === 'pairing' ? (chosen as FlowChoice) : 'auto',
        issuer: query('issuer'),
        authorizationEndpoint: query('authorizationEndpoint'),
        tokenEndpoint: query('tokenEndpoint'),
        deviceAuthorizationEndpoint: query('deviceAuthorizationEndpoint'),
      },
      probe,
    );
    res.json({
      ...addresses,
      port: uiPort(RED),
      redirectError: redirectUriProblem(provider, addresses.redirectUri, addresses.httpNodeRoot)?.toJSON() ?? null,
      flow,
    });
  });

  // Before `/:id`, which would take "links" and "apps" for node ids.
  RED.httpAdmin.get('/account-link/links', read, (_req, res) => {
    res.json(runningSummaries());
  });

  RED.httpAdmin.get('/account-link/apps', read, (_req, res) => {
    res.json(runningApps());
  });

  RED.httpAdmin.get('/account-link/:id', read, async (req, res) => {
    const link = await withLink(req, res);
    if (link) res.json(link.snapshot());
  });

  RED.httpAdmin.get('/account-link/:id/qr', read, async (req, res) => {
    const link = await withLink(req, res);
    if (!link) return;
    const snapshot = link.snapshot();
    const target = snapshot.verification_uri_complete ?? snapshot.verification_uri;
    if (!target) {
      res.status(404).end();
      return;
    }
    res.type('image/png').set('Cache-Control', 'no-store').send(await qrcode().toBuffer(target, { margin: 1, width: 240 }));
  });

  for (const action of LINK_ACTIONS) {
    RED.httpAdmin.post(`/account-link/:id/${action}`, write, async (req, res) => {
      const link = await withLink(req, res);
      if (!link) return;
      let options: ActionOptions;
      try {
        options = bodyOptions(req.body);
      } catch (err) {
        res.status(400).json(refusedReply(link.snapshot(), toLinkError(err, link.snapshot().provider)));
        return;
      }
      const { reply } = await runAction(link, action, options);
      // The dialog shows a start that failed; the log keeps it too (once: the Link logs its own
      // refresh failures, and a flow's node reports through Catch or Node-RED's log).
      if (action === 'start' && reply.error) accountLinkNode(RED, String(req.params.id))?.warn(reply.error.message);
      res.status(reply.status === 'ok' ? 200 : 400).json(reply);
    });
  }
}

/** The options in an action's body: none, or a JSON object such as `{"replace_account": true}`. */
function bodyOptions(body: unknown): ActionOptions {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new LinkError('bad_request', 'The request body must be empty or a JSON object like {"replace_account": true}.');
  }
  return actionOptions(body as { replace_account?: unknown });
}
