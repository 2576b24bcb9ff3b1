/**
 * Request bodies as Marathon reads them (Jersey + Jackson, api/MarathonExceptionMapper):
 * - a Content-Type that is not JSON → 415 `{"message":"Unsupported Media Type"}` (no
 *   Content-Type at all is taken as JSON, for curl users);
 * - an empty body → 400 `{"message":"Please specify data in JSON format","details":"No content to map due to end-of-input"}`
 *   (Jackson's JsonMappingException);
 * - malformed JSON → 400 `{"message":"Invalid JSON","details":"<Jackson's message>"}`
 *   (JsonParseException: `details` is a string there, not a list);
 * - more than {@link MAX_BODY_BYTES} → 413.
 *
 * @module
 */
import express, { type RequestHandler, type Request } from 'express';
import { HttpError } from './errors.js';

/** Largest request body accepted (a root group with hundreds of apps fits). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Reads the raw body of any content type into `req.body` (a Buffer) up to the limit. */
export function rawBody(): RequestHandler {
  return express.raw({ type: () => true, limit: MAX_BODY_BYTES });
}

/** Whether a Content-Type header names JSON (`application/json`, `…+json`, `text/json`). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === '') return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json' || type === '*/*';
}

/** Jackson-style description of a JSON.parse failure on `text`. */
export function jacksonParseMessage(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  let pos = m !== null ? Number(m[1]) : -1;
  if (pos < 0) {
    // Node 20 sometimes names the token instead of the position.
    const t = /Unexpected token '?(.)'?/.exec(err.message);
    if (t !== null) pos = text.indexOf(t[1]!);
  }
  if (pos < 0 || pos >= text.length) return 'Unexpected end-of-input';
  const ch = text[pos]!;
  const code = ch.codePointAt(0)!;
  return `Unexpected character ('${ch}' (code ${code})): ${err.message}`;
}

/**
 * The parsed JSON body of `req` (after {@link rawBody}), or an {@link HttpError} with
 * Marathon's status and body.
 */
export function jsonBody(req: Request): unknown {
  if (!isJsonContentType(req.headers['content-type'])) throw new HttpError(415, { message: 'Unsupported Media Type' });
  const buf: unknown = req.body;
  const text = Buffer.isBuffer(buf) ? buf.toString('utf8') : typeof buf === 'string' ? buf : '';
  if (text.trim() === '') {
    throw new HttpError(400, { message: 'Please specify data in JSON format', details: 'No content to map due to end-of-input' });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, { message: 'Invalid JSON', details: jacksonParseMessage(text, err as Error) });
  }
}

/** Like {@link jsonBody} but an absent/empty body is `undefined` (POST /restart, DELETE …). */
export function optionalJsonBody(req: Request): unknown {
  const buf: unknown = req.body;
  const text = Buffer.isBuffer(buf) ? buf.toString('utf8') : typeof buf === 'string' ? buf : '';
  if (text.trim() === '') return undefined;
  return jsonBody(req);
}

/** A JSON object (not array/null/primitive), or a 422 naming what was expected. */
export function expectObject(json: unknown, what = 'object'): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: '/', errors: [`error.expected.js${what}`] }] });
  }
  return json as Record<string, unknown>;
}
