import { deviceFlow, type LinkingContext, type LinkingMethod, type LinkingSession } from './device-flow.js';
import { LinkError } from './errors.js';

/**
 * A code to show: the provider's device flow, else the pairing page. A device flow the provider
 * refuses to this app gives way to the pairing page where `fallBack` allows it.
 */
export async function openSession(
  context: LinkingContext,
  pairing: LinkingMethod | undefined,
  announce: (message: string) => void,
): Promise<LinkingSession> {
  const { provider } = context;
  if (provider.flow === 'device') {
    return deviceFlow(context).catch((err: unknown) => fallBack(context, err, pairing, announce));
  }
  if (!pairing) {
    throw new LinkError('unsupported', `${provider.displayName} needs the pairing page, which is not available here.`);
  }
  return pairing(context);
}

/**
 * The provider refused its device flow to this app: under `flow: auto` the pairing page takes
 * over where it can (and `announce` says so); else the refusal, which names the setting to change,
 * ends the attempt.
 */
export function fallBack(
  context: LinkingContext,
  err: unknown,
  pairing: LinkingMethod | undefined,
  announce: (message: string) => void,
): Promise<LinkingSession> {
  const { provider } = context;
  if (!(err instanceof LinkError && err.code === 'device_flow_refused' && provider.fallback === 'pairing' && pairing)) throw err;
  if (context.signal.aborted) throw context.signal.reason;
  announce(`${provider.displayName} refused its device flow; using the pairing page instead`);
  return pairing(context);
}
