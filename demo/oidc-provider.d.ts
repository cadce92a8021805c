/**
 * oidc-provider 8 ships no type declarations. This covers only what sign-in-server.ts uses;
 * everything else stays `unknown` on purpose.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface KoaContext {
    method: string;
    path: string;
    status: number;
    body: unknown;
    oidc?: { params?: Record<string, unknown>; route?: string } | undefined;
  }

  export interface ClientLike {
    clientId: string;
    redirectUris: string[];
    grantTypeAllowed(type: string): boolean;
    redirectUriAllowed(value: string): boolean;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    proxy: boolean;
    readonly Client: { prototype: ClientLike };
    /** Issued refresh tokens, found by their value; `exp` in epoch seconds. */
    readonly RefreshToken: { find(value: string): Promise<{ exp?: number } | undefined> };
  }
}
