import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { isLinkAction, LinkError, runAction, toLinkError, type ErrorSummary, type Snapshot } from '../core/index.js';
import { widgetMessages, widgetTexts } from '../web/index.js';
import { replyMessage } from './action-node.js';
import { accountLinkNode } from './config-node.js';
import { badgeFor } from './status-badge.js';

interface UiAccountLinkDef extends NodeDef {
  group: string;
  account: string;
  /** Grid rows; 0 is "auto". */
  height?: number | string;
}

/**
 * Rows the widget takes when its size is "auto": Dashboard gives an auto-sized widget one row
 * (48 px) and the code, countdown, QR and buttons need about 280 px.
 */
const AUTO_ROWS = 5;

/** What this node uses of Dashboard 2.0's `ui-group` and `ui-base`: their documented widget API. */
interface DashboardGroup {
  register(node: Node, config: object, events: WidgetEvents): void;
  getBase(): DashboardBase;
}

interface DashboardBase {
  /** Sends to every open dashboard page. */
  emit(event: string, msg: object, node: Node): void;
  /** What a page that opens later is given (`widget-load`). */
  stores: { data: { save(base: DashboardBase, node: Node, msg: object): void } };
  /** Dashboard's table of registered widgets: where it names each widget's Vue component. */
  ui?: { widgets?: Map<string, { src?: unknown }> };
}

interface WidgetEvents {
  /** A button's `widget-action` runs `beforeSend`, then the result leaves the node's output. */
  onAction: true;
  beforeSend(msg: NodeMessageInFlow): Promise<NodeMessageInFlow>;
}

interface PackageManifest {
  name: string;
  'node-red-dashboard-2'?: { widgets?: Record<string, { output: string; component: string }> };
}

/** Where Dashboard finds this widget's Vue component: the `node-red-dashboard-2` entry of package.json. */
function componentSource(manifest: PackageManifest): object | undefined {
  const entry = manifest['node-red-dashboard-2']?.widgets?.['ui-account-link'];
  return entry && { package: manifest.name, name: 'ui-account-link', src: entry.output, component: entry.component };
}

/**
 * `ui-account-link`: a Dashboard 2.0 widget for one account. It registers with its `ui-group`, sends
 * the link's snapshot (and a QR of the code's address) to every open page as it changes, and runs
 * the buttons' actions through the core action table; each press's reply leaves its output. Without
 * Dashboard 2.0 (no group) it only says what it needs.
 */
export = function uiAccountLink(RED: NodeAPI): void {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as PackageManifest;
  // The badges and error words are in account-link.json, which is another node set's namespace.
  const linkCatalog = Object.create(RED, {
    _: { value: (key: string, values?: Record<string, string | number>) => RED._(`${manifest.name}/account-link:${key}`, values) },
  }) as NodeAPI;

  function UiAccountLinkNode(this: Node, config: UiAccountLinkDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const group = RED.nodes.getNode(config.group) as (Node & Partial<DashboardGroup>) | null;
    if (typeof group?.register !== 'function' || typeof group.getBase !== 'function') {
      node.status({ fill: 'red', shape: 'ring', text: RED._('ui-account-link.status.no-dashboard') });
      node.warn(RED._('ui-account-link.errors.no-dashboard'));
      return;
    }
    const base = group.getBase();
    const account = accountLinkNode(RED, config.account);
    const messageFor = widgetMessages();
    let shown = 0;
    let closed = false;
    let detach: (() => void) | undefined;

    /**
     * Sends the newest view to the open pages and keeps it for pages opened later. The error of an
     * action that just failed is shown, not kept: a page opened later does not see it.
     */
    const show = (snapshot: Snapshot | null, error: ErrorSummary | null = null, keepError = true): void => {
      const turn = ++shown;
      void messageFor(snapshot, error).then((msg) => {
        if (closed || turn !== shown) return;
        base.stores.data.save(base, node, keepError ? msg : { ...msg, error: null });
        base.emit(`msg-input:${node.id}`, msg, node);
      });
    };

    const act = async (msg: NodeMessageInFlow): Promise<NodeMessageInFlow> => {
      const action = msg.payload;
      if (!isLinkAction(action)) throw new LinkError('unknown_action', linkCatalog._('account-link.errors.unknown_action'));
      if (!account) throw new LinkError('config', linkCatalog._('account-link.errors.no-account'));
      const link = await account.ready;
      const { reply } = await runAction(link, action);
      if (reply.error) show(reply.data, reply.error, false);
      return Object.assign(replyMessage(msg, reply, link.slug, action), { action });
    };

    // The page titles the widget with the account's name (the node's own name wins).
    const accountName = account?.name ?? '';
    group.register(node, { ...config, height: Number(config.height) || AUTO_ROWS, accountName, texts: widgetTexts() }, { onAction: true, beforeSend: act });
    // Dashboard looks for third-party widgets only in packages named `node-red-dashboard-2-*` (or the
    // user directory's own package.json); this package has its own name, so it names its component itself.
    const registered = base.ui?.widgets?.get(node.id);
    if (registered && !registered.src) registered.src = componentSource(manifest);

    if (!account) {
      node.status({ fill: 'red', shape: 'ring', text: linkCatalog._('account-link.status.no-account') });
      show(null, new LinkError('config', linkCatalog._('account-link.errors.no-account')).toJSON());
    } else {
      account.ready.then(
        (link) => {
          if (closed) return;
          const follow = (snapshot: Snapshot): void => {
            node.status(badgeFor(linkCatalog, snapshot));
            show(snapshot);
          };
          follow(link.snapshot());
          link.on('snapshot', follow);
          detach = () => link.off('snapshot', follow);
        },
        (err: unknown) => {
          const problem = toLinkError(err, 'the provider');
          node.status({ fill: 'red', shape: 'ring', text: problem.message });
          show(null, problem.toJSON());
        },
      );
    }

    node.on('close', () => {
      closed = true;
      detach?.();
    });
  }

  RED.nodes.registerType('ui-account-link', UiAccountLinkNode);
};
