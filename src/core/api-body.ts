/** How a request node hands over the response body, as in core `http request`. */
export type ResponseFormat = 'txt' | 'bin' | 'obj';

/** Request headers a flow may not set: the token is ours to add, and the transport owns the rest. */
const DROPPED_HEADERS = new Set(['authorization', 'proxy-authorization', 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade']);

/** A request's headers and body on the wire. */
export interface EncodedRequest {
  headers: Record<string, string | string[]>;
  body: string | Buffer | undefined;
}

/**
 * The headers and body to send, as core `http request` makes them: strings and Buffers go as they
 * are, anything else as JSON (or as a form when the content type says so). GET sends no body.
 */
export function encodeRequest(method: string, headers: unknown, body: unknown): EncodedRequest {
  const out: Record<string, string | string[]> = {};
  if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      const key = name.toLowerCase();
      if (DROPPED_HEADERS.has(key) || value === undefined || value === null) continue;
      out[key] = Array.isArray(value) ? value.map(String) : String(value);
    }
  }
  if (method === 'GET' || body === undefined || body === null) return { headers: out, body: undefined };
  if (typeof body === 'string' || Buffer.isBuffer(body)) return { headers: out, body };
  if (body instanceof Uint8Array) return { headers: out, body: Buffer.from(body) };
  const type = String(out['content-type'] ?? '');
  if (/^application\/x-www-form-urlencoded/i.test(type) && typeof body === 'object') {
    const form = new URLSearchParams(Object.entries(body as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    return { headers: out, body: form.toString() };
  }
  out['content-type'] ??= 'application/json';
  return { headers: out, body: JSON.stringify(body) };
}

/** A response body as `ret` asks; `parsed: false` when `obj` was asked but the body is not JSON (it is then text). */
export function decodeBody(body: Buffer, ret: ResponseFormat): { payload: unknown; parsed: boolean } {
  if (ret === 'bin') return { payload: body, parsed: true };
  const text = body.toString('utf8');
  if (ret === 'txt') return { payload: text, parsed: true };
  // An empty answer (204 No Content: nothing playing) is null, not a parse error to warn about.
  if (text.trim() === '') return { payload: null, parsed: true };
  try {
    return { payload: JSON.parse(text) as unknown, parsed: true };
  } catch {
    return { payload: text, parsed: false };
  }
}
