import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from 'node-red';
import {
  API_METHODS,
  ApiRequester,
  decodeBody,
  LinkError,
  toLinkError,
  type ApiMethod,
  type ApiRequest,
  type GateState,
  type ResponseFormat,
} from '../core/index.js';
import { accountLinkNode } from './config-node.js';
import { nodeLogger } from './node-logger.js';

interface RequestNodeDef extends NodeDef {
  account: string;
  method: ApiMethod | 'use';
  url: string;
  ret: ResponseFormat;
  allowedHosts: string;
  queueLimit: number | string;
}

/** The catalog of the `account-link` node set, whose error words every node of the package shares. */
const LINK_CATALOG = 'node-red-contrib-account-link/account-link';

/**
 * `account-link-request`: calls the linked account's API like core `http request`, signing each
 * request with the link's token inside the engine (src/core/api-request.ts) so no token is ever in `msg`.
 */
export = function accountLinkRequest(RED: NodeAPI): void {
  const t = (key: string, values?: Record<string, string | number>): string => RED._(`account-link-request.${key}`, values);

  /** The package's words for an error code (in the `account-link` catalog), else the engine's English. */
  const errorText = (problem: LinkError): string => {
    const key = `account-link.errors.${problem.code}`;
    const text = RED._(`${LINK_CATALOG}:${key}`);
    return text && !text.endsWith(key) ? text : problem.message;
  };

  function AccountLinkRequestNode(this: Node, config: RequestNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const account = accountLinkNode(RED, config.account);
    const ret: ResponseFormat = config.ret === 'txt' || config.ret === 'bin' ? config.ret : 'obj';
    const queueLimit = Number(config.queueLimit);
    let requester: Promise<ApiRequester> | undefined;
    let showing = false;

    const show = (status: NodeStatus): void => {
      showing = Object.keys(status).length > 0;
      node.status(status);
    };
    const showWait = (state: GateState): void => {
      if (state.state === 'open' || state.waiting === 0) {
        if (showing) show({});
        return;
      }
      const seconds = Math.max(0, Math.ceil((state.until - Date.now()) / 1000));
      show({ fill: 'yellow', shape: 'ring', text: t('status.waiting', { seconds, waiting: state.waiting }) });
    };

    if (!account) {
      show({ fill: 'red', shape: 'ring', text: RED._(`${LINK_CATALOG}:account-link.status.no-account`) });
    } else {
      requester = account.ready.then((link) => {
        try {
          return new ApiRequester({
            link,
            allowedHosts: config.allowedHosts,
            queueLimit: Number.isFinite(queueLimit) && String(config.queueLimit).trim() !== '' ? queueLimit : 100,
            logger: nodeLogger(node),
            onWait: showWait,
          });
        } catch (err) {
          const problem = toLinkError(err, link.snapshot().provider);
          show({ fill: 'red', shape: 'ring', text: problem.message });
          node.error(problem.message);
          throw problem;
        }
      });
      requester.catch(() => undefined);
    }

    /** The request `msg` asks for; msg.url and msg.method count only where the node leaves them open, as in core. */
    const requestFor = (msg: NodeMessageInFlow & Record<string, unknown>): ApiRequest => {
      const method = config.method === 'use' ? String(msg.method ?? '').toUpperCase() : config.method;
      if (!(API_METHODS as readonly string[]).includes(method)) {
        throw new LinkError('bad_request', t('errors.method', { method: String(config.method === 'use' ? msg.method : method) }));
      }
      const url = config.url?.trim() || (typeof msg.url === 'string' ? msg.url.trim() : '');
      if (!url) throw new LinkError('bad_request', t('errors.no-url'));
      const overridden = (config.url?.trim() && msg.url !== undefined && msg.url !== config.url) ||
        (config.method !== 'use' && msg.method !== undefined && String(msg.method).toUpperCase() !== config.method);
      if (overridden) node.warn(t('warn.no-override'));
      return { method: method as ApiMethod, url, headers: msg.headers, body: msg.payload };
    };

    node.on('input', (msg, send, done) => {
      const fail = (err: unknown): void => {
        const found = toLinkError(err, 'the provider');
        // Without its cause: nothing from the transport travels on to a Catch node.
        const problem = new LinkError(found.code, found.message, { retryAfterMs: found.retryAfterMs });
        Object.assign(msg, { error: problem.toJSON() });
        show({ fill: 'red', shape: 'ring', text: errorText(problem) });
        done(problem);
      };
      if (!requester) {
        fail(new LinkError('config', RED._(`${LINK_CATALOG}:account-link.errors.no-account`)));
        return;
      }
      requester
        .then((api) =>
          api.send(requestFor(msg)).then((response) => {
            const { payload, parsed } = decodeBody(response.body, ret);
            if (!parsed) node.warn(t('warn.not-json'));
            Object.assign(msg, { payload, statusCode: response.statusCode, headers: response.headers, responseUrl: response.url });
            if (showing) showWait(api.waitState() ?? { state: 'open', until: 0, waiting: 0 });
            send(msg);
            done();
          }),
        )
        .catch(fail);
    });

    node.on('close', () => {
      requester?.then((api) => api.close(), () => undefined);
    });
  }

  RED.nodes.registerType('account-link-request', AccountLinkRequestNode);
};
