/**
 * Call batches, an Agora extension of the v1 scheduler API: one `POST /api/v1/scheduler`
 * whose JSON body is an array of calls, applied in order as if they had been POSTed one
 * after another on one connection. It exists because a busy framework acknowledges two
 * status updates per task, and one HTTP request per acknowledgement capped launches at a
 * few thousand tasks a second (docs/master.md, "Call batches").
 *
 * The protocol's headers and limits are shared with the slave's executor API
 * (sdk/core/call-batch.ts). Compatibility: the master announces batches with the `Agora-Call-Batch: <max calls>`
 * header on its SUBSCRIBE response. A client that never saw the header (every Mesos client)
 * never sends an array, and a Mesos master never sends the header, so the Agora SDK falls
 * back to single calls against it.
 *
 * Outcome of a batch, for the client to settle each call:
 * - 202: every call applied.
 * - An error status with `Agora-Calls-Applied: k`: calls `0…k-1` were applied, call `k`
 *   failed with this status and message, and the calls after it were NOT applied.
 * - 400 with `Agora-Calls-Applied: 0` and `Agora-Failed-Call: i`: call `i` is invalid and
 *   nothing was applied (every call is validated before any is applied).
 * - An error status without those headers (403, 413, 503, …): nothing was applied; the
 *   answer concerns the whole batch.
 *
 * @module
 */
import { CALLS_APPLIED_HEADER, FAILED_CALL_HEADER, MAX_BATCH_CALLS } from '../../sdk/core/call-batch.js';
import { SchedulerCall, safeParseJson } from '../../sdk/protocol/index.js';
import { z } from 'zod';
import { validateCall, type HttpVerdict } from './validate.js';

/**
 * Calls a batch may carry: those answered with 202 alone. SUBSCRIBE opens a stream, and
 * UPDATE_FRAMEWORK / RECONCILE_OPERATIONS answer 200 with a body, so they go alone.
 */
const BATCHABLE: ReadonlySet<SchedulerCall['type']> = new Set([
  'ACKNOWLEDGE', 'ACKNOWLEDGE_OPERATION_STATUS', 'ACCEPT', 'DECLINE', 'KILL', 'RECONCILE', 'REVIVE', 'SUPPRESS',
  'MESSAGE', 'SHUTDOWN', 'REQUEST', 'TEARDOWN',
]);

/** True when a request body is a batch (a JSON array) rather than one call. */
export function isBatchBody(body: string): boolean {
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x5b; // '['
  }
  return false;
}

export type ParsedBatch = { ok: true; calls: SchedulerCall[]; frameworkId: string } | { ok: false; verdict: HttpVerdict };

function invalid(index: number | undefined, message: string): ParsedBatch {
  const headers: Record<string, string> = index === undefined ? {} : { [CALLS_APPLIED_HEADER]: '0', [FAILED_CALL_HEADER]: String(index) };
  return { ok: false, verdict: { status: 400, message, headers } };
}

/**
 * Parses and validates a whole batch before anything is applied: JSON, 1…{@link MAX_BATCH_CALLS}
 * calls, each a valid batchable call (the same checks as a single call), all for one framework.
 */
export function parseBatch(body: string): ParsedBatch {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return invalid(undefined, `Failed to parse body into JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(json)) return invalid(undefined, 'Expecting a JSON array of calls');
  if (json.length === 0 || json.length > MAX_BATCH_CALLS) {
    return invalid(undefined, `A call batch holds 1 to ${MAX_BATCH_CALLS} calls, not ${json.length}`);
  }
  const calls: SchedulerCall[] = [];
  let frameworkId: string | undefined;
  for (let i = 0; i < json.length; i++) {
    const element: unknown = json[i];
    if (element === null || typeof element !== 'object' || Array.isArray(element)) {
      return invalid(i, `Call ${i} of the batch: Failed to convert JSON into Call protobuf: Expecting a JSON object`);
    }
    const parsed = safeParseJson(SchedulerCall, element);
    if (!parsed.success) {
      return invalid(i, `Call ${i} of the batch: Failed to convert JSON into Call protobuf: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
    }
    const call = parsed.data;
    if (!BATCHABLE.has(call.type)) return invalid(i, `Call ${i} of the batch: ${call.type} cannot be batched; send it alone`);
    const error = validateCall(call);
    if (error !== undefined) return invalid(i, `Call ${i} of the batch: Failed to validate scheduler::Call: ${error}`);
    const id = call.framework_id!.value;
    if (frameworkId !== undefined && id !== frameworkId) {
      return invalid(i, `Call ${i} of the batch is for framework ${id}, the batch for ${frameworkId}`);
    }
    frameworkId = id;
    calls.push(call);
  }
  return { ok: true, calls, frameworkId: frameworkId! };
}

/** The verdict for a batch whose call `index` failed with `verdict` after `index` calls were applied. */
export function failedAt(index: number, call: SchedulerCall, verdict: HttpVerdict): HttpVerdict {
  return {
    status: verdict.status,
    message: `Call ${index} of the batch (${call.type}): ${verdict.message}`,
    headers: { ...verdict.headers, [CALLS_APPLIED_HEADER]: String(index) },
  };
}
