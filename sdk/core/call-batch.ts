/**
 * Call batches, an Agora extension of Mesos's v1 HTTP APIs, shared by both of them: the
 * master's scheduler API (master/scheduler-api/batch.ts) and the slave's executor API
 * (slave/executor-api.ts) serve them, and the SDK's scheduler and executor transports send
 * them. A server announces batches on its SUBSCRIBE response with `Agora-Call-Batch: <max>`;
 * a client that saw the header POSTs the calls made while a request was in flight as one JSON
 * array. The answer says how far the server got (`Agora-Calls-Applied`, and
 * `Agora-Failed-Call` for the call that was refused), so each call settles on its own. Mesos
 * servers never send the header and Mesos clients never send arrays.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';

/** SUBSCRIBE response header announcing batches, valued with the most calls one may hold. */
export const CALL_BATCH_HEADER = 'Agora-Call-Batch';
/** How many calls of a batch were applied (on a batch answer that is not a success). */
export const CALLS_APPLIED_HEADER = 'Agora-Calls-Applied';
/** Index of the call that was refused. */
export const FAILED_CALL_HEADER = 'Agora-Failed-Call';
/** Most calls in one batch, on either side. */
export const MAX_BATCH_CALLS = 1000;
/** Most bytes of calls a client puts in one batch. */
export const MAX_BATCH_BYTES = 1024 * 1024;

/** A call waiting in a client's queue. */
export interface QueuedCall {
  /** The call's JSON. */
  body: string;
  resolve(): void;
  reject(err: unknown): void;
}

/** A non-negative integer header, or undefined (node reads header names in lower case). */
export function headerNumber(headers: IncomingHttpHeaders, name: string): number | undefined {
  const v = headers[name.toLowerCase()];
  const n = typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** How many calls a batch to this server may hold: 1 (no batches) unless its SUBSCRIBE answer announced more. */
export function batchLimitOf(headers: IncomingHttpHeaders): number {
  return Math.min(MAX_BATCH_CALLS, Math.max(1, headerNumber(headers, CALL_BATCH_HEADER) ?? 1));
}

/**
 * Takes the next request's worth of calls off the front of `queue`: the first one, then as
 * many following ones as `limit`, {@link MAX_BATCH_BYTES} and `joins` allow. One splice, not
 * a shift per call: a shift moves the whole queue, and a busy framework's queue holds
 * thousands of acknowledgements (a shift each was a quarter of its CPU).
 */
export function takeBatch<T extends QueuedCall>(queue: T[], limit: number, joins: (first: T, next: T) => boolean = () => true): T[] {
  const first = queue[0]!;
  let bytes = first.body.length;
  let count = 1;
  while (count < limit && count < queue.length) {
    const next = queue[count]!;
    if (!joins(first, next) || bytes + next.body.length > MAX_BATCH_BYTES) break;
    bytes += next.body.length;
    count++;
  }
  return queue.splice(0, count);
}

/**
 * Settles the calls of a batch the server refused, from its answer's headers: calls before
 * `applied` resolve, the failed one (`failed`, else the one at `applied`) rejects with
 * `refusal`, and the rest, which the server did not apply, are returned to be sent again.
 * Without `applied` the answer is about the whole batch: every call rejects.
 */
export function settleRefusedBatch<T extends QueuedCall>(
  batch: T[], applied: number | undefined, failed: number | undefined, refusal: (call: T) => unknown,
): T[] {
  if (applied === undefined) {
    for (const c of batch) c.reject(refusal(c));
    return [];
  }
  const refused = failed ?? applied;
  const notApplied: T[] = [];
  batch.forEach((c, i) => {
    if (i < applied) c.resolve();
    else if (i === refused) c.reject(refusal(c));
    else notApplied.push(c);
  });
  return notApplied;
}
