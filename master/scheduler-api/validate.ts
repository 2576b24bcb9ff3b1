/**
 * Pure checks of a scheduler HTTP request, in the order Mesos's `Master::Http::scheduler`
 * applies them (master/http.cpp): method → Content-Type → JSON parse → call validation
 * (master/validation.cpp `scheduler::call::validate`) → Accept (SUBSCRIBE only) → framework
 * lookup / subscription / stream id. Each check returns the HTTP verdict or undefined.
 *
 * @module
 */
import { z } from 'zod';
import { SCHEDULER_CALL_PAYLOAD, SchedulerCall, safeParseJson } from '../../sdk/protocol/index.js';
import type { FrameworkRecord } from '../model.js';

export const APPLICATION_JSON = 'application/json';
export const APPLICATION_PROTOBUF = 'application/x-protobuf';

/** A refusal: status code and the plain-text body Mesos sends with it. */
export interface HttpVerdict {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

export function checkMethod(method: string | undefined): HttpVerdict | undefined {
  if (method === 'POST') return undefined;
  return {
    status: 405,
    message: `Expecting one of { 'POST' }, but received '${method ?? ''}'`,
    headers: { Allow: 'POST' },
  };
}

/**
 * Content-Type must be present (400) and JSON (415 otherwise; the protobuf encoding is not
 * supported, so it gets 415 too). Parameters such as `; charset=utf-8` are tolerated and the
 * comparison is case-insensitive (Mesos compares exactly; being lenient harms no client).
 */
export function checkContentType(contentType: string | undefined): HttpVerdict | undefined {
  if (contentType === undefined || contentType.trim() === '') {
    return { status: 400, message: "Expecting 'Content-Type' to be present" };
  }
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === APPLICATION_JSON) return undefined;
  return { status: 415, message: `Expecting 'Content-Type' of ${APPLICATION_JSON} or ${APPLICATION_PROTOBUF}` };
}

export type ParsedCall = { ok: true; call: SchedulerCall } | { ok: false; verdict: HttpVerdict };

/** JSON body → SchedulerCall, with Mesos's 400 messages. */
export function parseCallBody(body: string): ParsedCall {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return { ok: false, verdict: { status: 400, message: `Failed to parse body into JSON: ${(err as Error).message}` } };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, verdict: { status: 400, message: 'Failed to convert JSON into Call protobuf: Expecting a JSON object' } };
  }
  const result = safeParseJson(SchedulerCall, json);
  if (!result.success) {
    return {
      ok: false,
      verdict: { status: 400, message: `Failed to convert JSON into Call protobuf: ${z.prettifyError(result.error).replace(/\n/g, '; ')}` },
    };
  }
  return { ok: true, call: result.data };
}

const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Base64 digits (without padding) that decode to 16 bytes: ⌊22·6/8⌋ = 16, and 21 or 23 do not. */
const UUID_BASE64_DIGITS = 22;

/**
 * True when `value` is standard or URL-safe base64 of exactly 16 bytes (a UUID). The length
 * is counted rather than decoded: Node decodes `n` digits into ⌊3n/4⌋ bytes, so 16 bytes are
 * exactly 22 digits (plus up to two `=`). Decoding into a Buffer for every ACKNOWLEDGE (two
 * per task) was a visible share of a busy master; a unit test checks the count against
 * `Buffer.from(value, 'base64')`.
 */
export function isUuidBase64(value: string): boolean {
  if (value.length < UUID_BASE64_DIGITS || value.length > UUID_BASE64_DIGITS + 2 || !BASE64_TEXT.test(value)) return false;
  let digits = value.length;
  while (digits > 0 && value.charCodeAt(digits - 1) === 0x3d /* = */) digits--;
  return digits === UUID_BASE64_DIGITS;
}

/** Mesos `validation::scheduler::call::validate`; returns the error text or undefined. */
export function validateCall(call: SchedulerCall): string | undefined {
  if (call.type === 'SUBSCRIBE') {
    if (call.subscribe === undefined) return "Expecting 'subscribe' to be present";
    const infoId = call.subscribe.framework_info.id?.value;
    if (infoId !== call.framework_id?.value) return "'framework_id' differs from 'subscribe.framework_info.id'";
    return undefined;
  }
  if (call.framework_id === undefined) return "Expecting 'framework_id' to be present";
  const payload = SCHEDULER_CALL_PAYLOAD[call.type];
  if (payload !== undefined && call[payload] === undefined) return `Expecting '${payload}' to be present`;
  if (call.type === 'ACKNOWLEDGE' && !isUuidBase64(call.acknowledge!.uuid)) {
    return `Failed to parse UUID from '${call.acknowledge!.uuid}': not 16 bytes of base64`;
  }
  if (call.type === 'UPDATE_FRAMEWORK') {
    const infoId = call.update_framework!.framework_info.id?.value;
    if (infoId !== call.framework_id.value) return "'framework_id' differs from 'update_framework.framework_info.id'";
  }
  return undefined;
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(accept: string | string[] | undefined): MediaRange[] | undefined {
  if (accept === undefined) return undefined;
  const joined = Array.isArray(accept) ? accept.join(',') : accept;
  const ranges: MediaRange[] = [];
  for (const part of joined.split(',')) {
    const [media, ...params] = part.split(';').map((s) => s.trim());
    if (!media) continue;
    const [type, subtype] = media.toLowerCase().split('/');
    if (!type || !subtype) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k?.toLowerCase() === 'q' && v !== undefined) {
        const n = Number(v);
        q = Number.isFinite(n) ? n : 0;
      }
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
}

/**
 * RFC 7231 Accept matching as Mesos's `Request::acceptsMediaType`: no header accepts
 * everything; otherwise the most specific matching range decides, and q=0 refuses.
 * Duplicate Accept headers are merged.
 */
export function acceptsMediaType(accept: string | string[] | undefined, mediaType: string): boolean {
  const ranges = parseAccept(accept);
  if (ranges === undefined) return true;
  const [type, subtype] = mediaType.toLowerCase().split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const r of ranges) {
    let specificity: number;
    if (r.type === type && r.subtype === subtype) specificity = 2;
    else if (r.type === type && r.subtype === '*') specificity = 1;
    else if (r.type === '*' && r.subtype === '*') specificity = 0;
    else continue;
    if (best === undefined || specificity > best.specificity) best = { specificity, q: r.q };
    else if (specificity === best.specificity) best.q = Math.max(best.q, r.q);
  }
  return best !== undefined && best.q > 0;
}

/** SUBSCRIBE-only header checks: Accept must allow JSON (406); no stream id (400). */
export function checkSubscribeHeaders(accept: string | string[] | undefined, streamId: string | undefined): HttpVerdict | undefined {
  if (!acceptsMediaType(accept, APPLICATION_JSON)) {
    return { status: 406, message: `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'` };
  }
  if (streamId !== undefined) return { status: 400, message: "Subscribe calls should not include the 'Mesos-Stream-Id' header" };
  return undefined;
}

/**
 * Non-SUBSCRIBE calls: the framework must exist (400 "Framework cannot be found", as Mesos),
 * be subscribed (403), and the request must carry its current `Mesos-Stream-Id` (400).
 */
export function authorizeCall(framework: FrameworkRecord | undefined, streamId: string | undefined): HttpVerdict | undefined {
  if (framework === undefined) return { status: 400, message: 'Framework cannot be found' };
  if (!framework.connected) return { status: 403, message: 'Framework is not subscribed' };
  if (streamId === undefined) {
    return { status: 400, message: "All non-subscribe calls should include the 'Mesos-Stream-Id' header" };
  }
  if (streamId !== framework.streamId) {
    return {
      status: 400,
      message: `The stream ID '${streamId}' included in this request didn't match the stream ID currently associated with framework ID ${framework.id}`,
    };
  }
  return undefined;
}
