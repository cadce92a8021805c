import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#f7f7f5;--muted:#555;--accent:#17663a;--bad:#a3161a;--box:#fff}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#161616;--muted:#aaa;--accent:#3fb46b;--bad:#ff8a8a;--box:#222}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:30rem;padding:1.25rem;font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.45rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
p{margin:.5rem 0}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input{width:100%;font:inherit;padding:.7rem;border:1px solid #888;border-radius:.5rem;background:var(--box);color:var(--fg)}
input.code{font-size:1.6rem;letter-spacing:.12em;text-align:center;text-transform:uppercase}
button{width:100%;font:inherit;font-weight:600;padding:.8rem;margin-top:.9rem;border:0;border-radius:.5rem;background:var(--accent);color:#fff}
.hint,.note{color:var(--muted);font-size:.92rem}
.error{border-left:4px solid var(--bad);background:var(--box);padding:.6rem .8rem;margin:1rem 0}
.ok{border-left:4px solid var(--accent);background:var(--box);padding:.6rem .8rem;margin:1rem 0}
.warn{border-left:4px solid #c77d00;background:var(--box);padding:.6rem .8rem;margin:1rem 0;font-weight:600}
dl{margin:1rem 0;display:grid;grid-template-columns:auto 1fr;gap:.3rem .8rem}
dt{color:var(--muted)}
dd{margin:0;font-weight:600;overflow-wrap:anywhere}
section{margin-top:2rem;padding-top:1rem;border-top:1px solid #8884}
a{color:var(--accent)}
`.trim();

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/**
 * The page's Content-Security-Policy: no scripts at all, only the one inline style (by hash),
 * never framed. Browsers check `form-action` also on the redirect that follows a form, so it must
 * allow the providers' authorization endpoints: any https one (a page opened before its Link first
 * started cannot know which), and the plain-http ones (home-network providers) seen so far.
 */
export function contentSecurityPolicy(formTargets: readonly string[] = []): string {
  const targets = formTargets.filter((origin) => /^http:\/\/[^\s;,'"]+$/.test(origin));
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    "img-src 'self' data:",
    `form-action 'self' https:${targets.map((t) => ` ${t}`).join('')}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Headers every answer of the pairing page carries: nothing cached, never framed, and a Referer
 * only to the hub itself (never to the provider), so the page's own POSTs carry their `Origin`.
 */
export function setCommonHeaders(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
}

export interface PageParts {
  language: string;
  title: string;
  /** Already-escaped HTML. */
  body: string;
}

/** A whole small page: viewport for phones, the hashed inline style, no scripts. */
export function renderDocument({ language, title, body }: PageParts): string {
  return `<!DOCTYPE html>
<html lang="${escapeHtml(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Sends an HTML page with the strict headers. */
export function sendPage(
  res: ServerResponse,
  status: number,
  page: PageParts,
  formTargets: readonly string[] = [],
  extraHeaders: Record<string, string> = {},
): void {
  const html = renderDocument(page);
  setCommonHeaders(res);
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Language', page.language);
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(formTargets));
  res.setHeader('Vary', 'Accept-Language');
  for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(html);
}
