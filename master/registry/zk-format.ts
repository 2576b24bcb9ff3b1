/**
 * What the ZooKeeper registry stores, as pure functions: the names of its child znodes, the
 * head's formats (and telling them apart), the manifest, the content of a log piece, the
 * choice between appending a batch to the log and writing the whole document, and when a
 * compaction starts beside the log. The I/O is in
 * zk.ts; the layout is described there and in docs/zookeeper.md.
 *
 * @module
 */
import { z } from 'zod';
import { AgoraError } from '../../sdk/core/errors.js';
import { parseRegistryOp, type RegistryOp } from './types.js';

/**
 * A snapshot piece's name: a head version (the one a whole write commits at, or the one whose
 * document a compaction beside the log holds: see zk.ts), a token unique to the write, its index.
 */
export const PIECE_NAME = /^v(\d+)-([0-9a-f]{16})-(\d+)$/;
/** A log piece's name: the head version it was written for, a token unique to the write. */
export const LOG_PIECE_NAME = /^v(\d+)-([0-9a-f]{16})-log$/;

/** The head version a snapshot or log piece was written for; undefined for any other name. */
export function pieceVersion(name: string): number | undefined {
  const m = PIECE_NAME.exec(name) ?? LOG_PIECE_NAME.exec(name);
  return m === null ? undefined : Number(m[1]);
}

export const ManifestSchema = z.object({
  registryChunks: z.literal(1),
  chunks: z.array(z.string().regex(PIECE_NAME)).min(1),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  // The log (operations appended since the snapshot), oldest first. Absent: no log (what
  // Agora wrote before the log, and what a compaction writes).
  log: z.array(z.string().regex(LOG_PIECE_NAME)).min(1).optional(),
}).strict();
export type Manifest = z.infer<typeof ManifestSchema>;

/** zlib (0x78, header checksum) or gzip (0x1f 0x8b): what `unzip` reads. */
export function isCompressed(data: Buffer): boolean {
  if (data.length < 2) return false;
  if (data[0] === 0x1f && data[1] === 0x8b) return true;
  return (data[0]! & 0x0f) === 8 && ((data[0]! << 8) | data[1]!) % 31 === 0;
}

/** What the head holds: nothing, a plain-JSON document, a compressed one, or a manifest of pieces (and a log). */
export type HeadContent =
  | { kind: 'empty' }
  | { kind: 'json'; text: string }
  | { kind: 'compressed'; data: Buffer }
  | { kind: 'manifest'; manifest: Manifest };

/**
 * Tells the head's formats apart by their first bytes. Throws `AGORA_REGISTRY_CORRUPT` for a
 * manifest that is not JSON, does not match the schema, or names a log out of order.
 */
export function parseHead(data: Buffer, where: string): HeadContent {
  if (data.length === 0) return { kind: 'empty' };
  if (isCompressed(data)) return { kind: 'compressed', data };
  const text = data.toString('utf8');
  // This writer's manifest starts so; a plain-JSON document (the old format) with `{"format":1`.
  if (!text.startsWith('{"registryChunks":')) return { kind: 'json', text };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry manifest at ${where} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry manifest at ${where} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const manifest = parsed.data;
  if (manifest.log !== undefined) {
    // Each append names one more piece, written for the head version it commits: the log's
    // versions rise strictly, all above the snapshot's.
    let previous = Math.max(...manifest.chunks.map((name) => pieceVersion(name)!));
    for (const name of manifest.log) {
      const version = pieceVersion(name)!;
      if (version <= previous) {
        throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry manifest at ${where} names its log out of order (${name} after version ${previous})`);
      }
      previous = version;
    }
  }
  return { kind: 'manifest', manifest };
}

/** The head's text for a manifest (the `registryChunks` key first: {@link parseHead} looks for it). */
export function encodeManifest(manifest: Manifest): string {
  const { registryChunks, chunks, bytes, sha256, log } = manifest;
  return JSON.stringify(log === undefined || log.length === 0 ? { registryChunks, chunks, bytes, sha256 } : { registryChunks, chunks, bytes, sha256, log });
}

/** A log piece's text (before compression): the operations of one committed batch, in order. */
export function encodeLogPiece(ops: readonly RegistryOp[]): string {
  return JSON.stringify({ registryLog: 1, ops });
}

/** The operations of a log piece's text. Throws `AGORA_REGISTRY_CORRUPT` naming `where` when it is not one. */
export function decodeLogPiece(text: string, where: string): RegistryOp[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry log piece ${where} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const body = raw as { registryLog?: unknown; ops?: unknown } | null;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body.registryLog !== 1 || !Array.isArray(body.ops) || body.ops.length === 0) {
    throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry log piece ${where} is not {"registryLog":1,"ops":[…]}`);
  }
  return body.ops.map((item, i) => {
    const op = parseRegistryOp(item);
    if (op === undefined) throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry log piece ${where}: operation ${i} is not a registry operation`);
    return op;
  });
}

/** What the head currently stores, for the choice of the next write. */
export interface StoredShape {
  /** Compressed bytes of the snapshot in pieces; undefined when the head holds the document itself (or nothing). */
  snapshotBytes: number | undefined;
  /** Compressed bytes of the log pieces the head names. */
  logBytes: number;
  /** Log pieces the head names. */
  logPieces: number;
}

/** The thresholds of the choice (see zk.ts for the defaults and why). */
export interface LogLimits {
  /** A snapshot smaller than this is rewritten whole every time, inline when it fits: no log. */
  logFromBytes: number;
  /**
   * Log pieces from which a compaction starts beside the log ({@link compactionDue}); the log
   * may hold twice as many before a commit must wait for one ({@link chooseWrite}).
   */
  maxLogPieces: number;
  maxNodeBytes: number;
  maxBytes: number;
}

/**
 * The next write, against the log's *hard* limits (twice the soft ones of
 * {@link compactionDue}, which start a compaction beside the log):
 * - `full`: the whole document, paced (`PACE_FROM_MS` in zk.ts) — there is no log to
 *   append to (small registry, inline head), or the batch is too large for one log piece;
 * - `compact`: the log cannot take this batch: it would hold 2 × `maxLogPieces` pieces or
 *   more, grow past twice the snapshot, make the head larger than half a znode, or take snapshot
 *   plus log past `maxBytes`. The commit waits for the compaction in flight (zk.ts) or, with
 *   none, writes the whole document with an empty log itself (not paced: the writes after it
 *   append);
 * - `append`: one log piece of `pieceBytes` and a head of `headBytes`.
 *
 * `pieceBytes` and `headBytes` are undefined when the batch was not encoded (the first check
 * already decides: nothing is compressed for a write that will not append).
 */
export function chooseWrite(shape: StoredShape, limits: LogLimits, batch?: { pieceBytes: number; headBytes: number }): 'full' | 'compact' | 'append' {
  if (shape.snapshotBytes === undefined || shape.snapshotBytes < limits.logFromBytes) return 'full';
  if (shape.logPieces >= 2 * limits.maxLogPieces) return 'compact';
  if (batch === undefined) return 'append';
  if (batch.pieceBytes > limits.maxNodeBytes) return 'full';
  if (shape.logBytes + batch.pieceBytes > 2 * shape.snapshotBytes) return 'compact';
  // The head is rewritten by every append: it stays small, far below a znode's limit.
  if (batch.headBytes > limits.maxNodeBytes / 2) return 'compact';
  if (shape.snapshotBytes + shape.logBytes + batch.pieceBytes > limits.maxBytes) return 'compact';
  return 'append';
}

/**
 * Whether a compaction should start beside the log now that the head stores `shape` (a head of
 * `headBytes`): the *soft* limits, half of {@link chooseWrite}'s hard ones — the log holds
 * `maxLogPieces` pieces, has outgrown the snapshot, makes the head larger than a quarter of a
 * znode, or fills half of the room `maxBytes` leaves beside the snapshot. The headroom up to
 * the hard limits is what commits append into while the compaction is prepared.
 *
 * `failedAtPieces`: the log's length when the last compaction failed (none since the last
 * commit of a snapshot). A new one starts only once the log has grown by a quarter of
 * `maxLogPieces` (at least one piece) since: a compaction that cannot succeed (a snapshot over
 * `maxBytes`) is not retried at every commit, a transient failure is soon.
 */
export function compactionDue(shape: StoredShape, headBytes: number, limits: LogLimits, failedAtPieces?: number): boolean {
  if (shape.snapshotBytes === undefined || shape.snapshotBytes < limits.logFromBytes || shape.logPieces === 0) return false;
  if (failedAtPieces !== undefined && shape.logPieces < failedAtPieces + Math.max(1, Math.ceil(limits.maxLogPieces / 4))) return false;
  return shape.logPieces >= limits.maxLogPieces
    || shape.logBytes > shape.snapshotBytes
    || headBytes > limits.maxNodeBytes / 4
    || shape.logBytes > (limits.maxBytes - shape.snapshotBytes) / 2;
}
