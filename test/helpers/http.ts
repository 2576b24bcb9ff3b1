/**
 * HTTP JSON for tests (Node's fetch), with a time bound on every request.
 *
 * @module
 */

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** GET `url`; parses the body as JSON when it is JSON. */
export async function getJson<T = any>(url: string, opts: { timeoutMs?: number } = {}): Promise<HttpResult<T>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
  return toResult<T>(res);
}

/** POST `body` as JSON to `url`. */
export async function postJson<T = any>(url: string, body: unknown, opts: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...opts.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  return toResult<T>(res);
}

async function toResult<T>(res: Response): Promise<HttpResult<T>> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}
