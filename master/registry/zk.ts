/**
 * The registry in ZooKeeper (HA mode). The registry document (the same JSON as the file
 * store's, see types.ts) is zlib-compressed and stored at `<path>/registry` (the *head*)
 * when it is small; a larger one is cut into pieces stored as immutable child znodes
 * `<path>/registry/v<target>-<token>-<i>`, and the head then holds a small JSON *manifest*
 * naming them (with the length and SHA-256 of the compressed stream). Once the snapshot is in
 * pieces, a commit does not rewrite it: it stores the batch's operations (compressed) as one
 * more immutable child, a *log piece* `<path>/registry/v<target>-<token>-log`, and sets the
 * head to the manifest naming the same snapshot pieces plus the log pieces in order.
 *
 * **Compaction beside the log.** When the log passes its *soft* limits (it holds
 * {@link MAX_LOG_PIECES}, has outgrown the snapshot, …: `compactionDue`), the append that
 * passed them still commits, and a compaction starts from the document as of that commit
 * (version c): the document is captured at once (the registry changes it in place afterwards),
 * encoded a part at a time into a zlib stream (compressed on the thread pool), and created as
 * snapshot pieces `v<c>-<token>-<i>` — without touching the head, while commits keep appending
 * log pieces (v<c+1>, v<c+2>, …). The next commit (still one at a time, through the registry's
 * write loop) commits it: its head names the new snapshot pieces, the log pieces appended after
 * c, and its own batch's piece; compare-and-set as always. With no write coming, it is committed
 * once ready through the same lock the writes hold ({@link ZkRegistry.exclusive}), never beside
 * a write. Only a log at its *hard* limits (twice the soft ones: `chooseWrite`) makes a commit
 * wait for the compaction; if none is in flight, or it failed, that commit writes the whole
 * document itself (a new snapshot, no log), as every compaction did before. A compaction that
 * fails (a piece create, a snapshot over the size limit) or is given up (a read, a whole write,
 * a failed commit, close) deletes its pieces; nothing was committed, nothing is lost.
 * Formats and the choices: zk-format.ts.
 *
 * Why pieces and not one znode: ZooKeeper refuses znodes over jute.maxbuffer (1 MB by
 * default). Compressed, an agent costs 20–30 bytes when agents look alike (emulated
 * `emu-N` agents) but about 60–80 bytes with realistic variety (distinct hostnames, sizes,
 * attributes, reservations), so 20,000 agents plus 10,000 unreachable ones take 1.1–1.4 MB:
 * compression alone does not reach that scale (figures in docs/zookeeper.md). Why a log: a
 * whole-document write costs in proportion to the cluster (25 ms of CPU at 15,000 emulated
 * agents, 1.6–2.0 s at 100,000 varied ones), an append in proportion to the batch. The
 * `zookeeper` client has no multi-op, so pieces cannot be written in one transaction;
 * instead:
 *
 * - **Atomic, conditional writes**: the pieces are created first (new names every write,
 *   never overwritten), then the head is set with compare-and-set on the version this
 *   master last read or wrote. That one set is the commit: readers only follow the head, so
 *   they see the old document or the new one, never a mix. A deposed leader's head write
 *   fails (`AGORA_REGISTRY_CONFLICT`, it steps down as before) and it deletes its pieces; when
 *   that write was a compaction committing by itself, the conflict goes to
 *   `onBackgroundConflict`, since no caller awaits it.
 * - **Garbage**: a piece's name (snapshot or log) carries a head version `v<n>`: a log piece's
 *   and a whole write's snapshot pieces the version they commit at, a compaction's snapshot
 *   pieces the version c whose document they hold (the log pieces a head names after them are
 *   then for c+1 and later, in order, as readers check). Each head replaces the previous one by
 *   naming (a) the same snapshot and log plus one new log piece, (b) a new whole-write snapshot
 *   for its own version and no log, or (c) a compaction of its writer's for c, the previous head's
 *   log pieces after c, and perhaps one new log piece. After a successful set to version V by
 *   master S, a piece for a version ≤ V that head V does not name can therefore be named again
 *   only by a compaction's commit, and only by the compaction's own writer: a compaction is
 *   committed by a chain of compare-and-sets from its c, all by the master that wrote c (a read
 *   or a failed set gives it up). If that master is not S, V > c was written by S and so lies
 *   past the chain's end: the chain's next set fails, and the pieces are garbage. So S deletes
 *   the pieces for versions ≤ V that head V does not name, except those of its own compaction in
 *   flight; pieces for a later version belong to a writer racing for it and are left alone. A
 *   plain append makes no garbage and does not sweep.
 * - **Reading** follows the head: the snapshot pieces, then the log pieces replayed in order
 *   (the same operations, {@link RegistryDraft}). When a piece it names is missing (the
 *   writer of a newer head deleted it meanwhile), it reads the head again; a piece missing
 *   under an unchanged head is corruption.
 *
 * Formats read at `<path>/registry`: plain JSON (written by Agora before compression; an
 * upgrade in place: the next write uses the new format), zlib or gzip data (by magic bytes),
 * and the manifest (JSON with `registryChunks`, with or without `log`). Anything else is
 * `AGORA_REGISTRY_CORRUPT`, never silently reset. Masters from before the log refuse a
 * manifest with a log (their schema is strict): upgrade every master before a leader writes one.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { createDeflate, deflate, unzip, constants as zlibConstants } from 'node:zlib';
import { systemClock, type Clock } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import {
  captureRegistry, decodeRegistry, DocumentRegistry, encodeCapturedRegistry, encodeRegistry, RegistryDraft,
  type CapturedRegistry, type RegistryOp, type RegistrySnapshot,
} from './types.js';
import {
  chooseWrite, compactionDue, decodeLogPiece, encodeLogPiece, encodeManifest, parseHead, pieceVersion, type LogLimits, type Manifest,
} from './zk-format.js';

const deflateAsync = promisify(deflate);
const unzipAsync = promisify(unzip);

/** The part of sdk/zk's ZkSession the registry uses. */
export interface RegistryZkSession {
  get(path: string): Promise<{ data: Buffer; version: number } | undefined>;
  set(path: string, data: string | Buffer, version?: number): Promise<number>;
  create(path: string, data: string | Buffer, mode: 'PERSISTENT'): Promise<string>;
  mkdirp(path: string): Promise<void>;
  children(path: string): Promise<string[]>;
  delete(path: string, version?: number): Promise<void>;
}

/**
 * Bytes per znode: half of ZooKeeper's default jute.maxbuffer (1 MiB), as Marathon's store
 * does — the native client used to drop its session while reading larger znodes (see
 * sdk/zk/session.ts, `response_counter_limit`); kept as a margin.
 */
export const MAX_REGISTRY_NODE_BYTES = 500_000;
/**
 * The largest compressed registry stored, snapshot and log together (16 znodes' worth).
 * ZooKeeper keeps every znode in memory on every server: past this the registry is refused
 * with `AGORA_REGISTRY_TOO_LARGE` (about 150,000 realistic agents). A log that fills half of
 * the room left beside the snapshot starts a compaction, and a commit that would take the
 * total past it waits for one (or writes the whole document); only a snapshot over it is refused.
 */
export const MAX_REGISTRY_BYTES = 8_000_000;
/**
 * A compressed snapshot of at least this many bytes is kept in pieces and followed by a log;
 * a smaller one is rewritten whole at every commit, inline in the head. Below it a whole
 * write is under a millisecond of CPU (4 KB compressed is 60–100 KB of JSON, about 500
 * emulated or 70 varied agents) and one znode written and read, where an append costs two
 * round trips and a load one more read per log piece. Higher thresholds cost CPU while a
 * cluster grows: with 32 KB, 15,000 agents registering over 30 s spent their first 4,000
 * admissions in 1,400 whole writes of up to 700 KB of JSON (7.9 s of registry CPU against
 * 4.0 s with 4 KB, 5.8 s with 16 KB).
 */
export const LOG_FROM_BYTES = 4 * 1024;
/**
 * Log pieces from which a compaction starts beside the log; a commit waits for it only at
 * twice as many. The head names each one (about 30 bytes) and is rewritten by every append,
 * and a load reads each: 256 (512 at most) keeps the head under 8 KB (16 KB) and a load to one
 * parallel round of reads, while at one compaction per 256 appends the whole-document
 * encodings are a small share even of a cluster registering agents one batch at a time.
 */
export const MAX_LOG_PIECES = 256;

/** Options of {@link ZkRegistry} (tests shrink the sizes to exercise pieces with small registries). */
export interface ZkRegistryOptions {
  /** Largest znode written, head or piece. Default {@link MAX_REGISTRY_NODE_BYTES}. */
  maxNodeBytes?: number;
  /** Largest compressed registry stored, snapshot and log. Default {@link MAX_REGISTRY_BYTES}. */
  maxBytes?: number;
  /** Compressed snapshot size from which commits append to a log. Default {@link LOG_FROM_BYTES}. */
  logFromBytes?: number;
  /** Log pieces from which a compaction starts (twice as many at most). Default {@link MAX_LOG_PIECES}. */
  maxLogPieces?: number;
  /** Least time from one append's start to the next batch. Default {@link APPEND_INTERVAL_MS}. */
  appendIntervalMs?: number;
  /** zlib level (1 fastest … 9 smallest). Default 6 (zlib's default). */
  compressionLevel?: number;
  /** Times the writes for {@link PACE_FROM_MS pacing}. Default: the system clock. */
  clock?: Clock;
  /**
   * Called when a commit nobody awaits (a ready compaction committing itself while no write
   * comes) finds the head changed under this registry (`AGORA_REGISTRY_CONFLICT`): another
   * master wrote it. Without it a deposed master would learn so only at its next write.
   */
  onBackgroundConflict?: (err: AgoraError) => void;
}

/**
 * Whole-document writes that took at least this long are followed by a pause as long as the
 * write before the next batch is taken. Such a write's cost grows with the cluster, not with
 * the batch: written back to back, 15,000 agents registering at once kept a core busy with
 * encoding and compressing (29 s of CPU against 12.5 s with the file store, which appends).
 * With the pause a registry write takes at most about half of the time, the batches grow
 * instead, and an admission waits at most one write longer. Appends cost O(batch) and are
 * not paced so, nor is a whole write at the log's hard limit (the writes after it append;
 * both keep {@link APPEND_INTERVAL_MS} instead); what is paced is a registry without a log (small ones
 * write in well under 10 ms and never pause) and a batch too large for one log piece, where
 * growing batches is the point.
 */
export const PACE_FROM_MS = 10;

/**
 * Least time from the start of one append (or whole-write compaction) to the next batch: at most 100
 * commits a second while the log is in use. Group commit alone makes batches as small as the
 * writes are quick, and an append is quick (two round trips), so 15,000 agents registering
 * over 30 s made 11,000 appends of one or two operations each, and the fixed cost of each
 * (two ZooKeeper operations through the native client, the head rewritten, a zlib stream)
 * was most of the registry's CPU: 13.7 s, against 8.0 s with this interval (2,350 appends;
 * both with a 32 KB {@link LOG_FROM_BYTES}). An admission waits at most this much longer
 * (p50 6 ms; with whole writes it waited 40 ms).
 */
export const APPEND_INTERVAL_MS = 10;

/** Head reads retried when the pieces it names vanish under a newer head. */
const MAX_READ_ATTEMPTS = 5;

/** The snapshot part of a manifest: what an append names again. */
type SnapshotRef = Pick<Manifest, 'chunks' | 'bytes' | 'sha256'>;

/**
 * Agents encoded per part of a compaction's document: a part is encoded on the event loop
 * (1–2 ms from cached members) and compressed on the thread pool before the next is made.
 */
const AGENTS_PER_PART = 2_000;

/** A snapshot being written beside the log (see the header: compaction). */
interface Compaction {
  /** The head version whose document it holds (an append of this master committed it); its pieces are named for it. */
  readonly version: number;
  /** The log's length and compressed bytes at that version: its commit names the log pieces after them. */
  readonly logPieces: number;
  readonly logBytes: number;
  /** Its pieces, named before each is created: the sweep keeps them. */
  readonly names: string[];
  /** Set once every piece is created: it is ready to commit. */
  ref?: SnapshotRef;
  /** Set when given up: it stops, and its pieces are deleted. */
  abandoned: boolean;
  /** Resolves when it is ready, failed or abandoned (never rejects). */
  readonly settled: Promise<void>;
}

export class ZkRegistry extends DocumentRegistry {
  /** The head znode, `<path>/registry`. */
  readonly node: string;
  /** Version of the head as last read or written; -1 when it does not exist. */
  private version = -1;
  /** The snapshot pieces the head named when last read or written; undefined when the head held the document itself. */
  private snapshot?: SnapshotRef;
  /** The log pieces the head named, oldest first, and their compressed bytes. */
  private log: readonly string[] = [];
  private logBytes = 0;
  /** Set when pieces may need deleting (unknown after a read, old pieces, a failed write's). */
  private sweepNeeded = true;
  private readonly maxNodeBytes: number;
  private readonly maxBytes: number;
  private readonly limits: LogLimits;
  private readonly level: number;
  private readonly clock: Clock;
  /** When the next batch may be taken (clock ms): after a paced whole write's pause, or an append interval after the last append began. */
  private nextBatchAt = Number.NEGATIVE_INFINITY;
  private readonly appendIntervalMs: number;
  private readonly onBackgroundConflict?: (err: AgoraError) => void;
  /** Bytes of the head as last read or written (a compaction starts before it grows large). */
  private headBytes = 0;
  /** The compaction in flight, being prepared or ready to commit. */
  private compaction?: Compaction;
  /** The log's length when the last compaction failed (undefined since a snapshot was committed). */
  private compactionFailedAt?: number;
  /** Serialises the head's readers and writers (see {@link exclusive}). */
  private headLock: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly session: RegistryZkSession, basePath: string, opts: ZkRegistryOptions = {}) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.node = `${basePath.replace(/\/+$/, '')}/registry`;
    this.maxNodeBytes = opts.maxNodeBytes ?? MAX_REGISTRY_NODE_BYTES;
    this.maxBytes = opts.maxBytes ?? MAX_REGISTRY_BYTES;
    this.level = opts.compressionLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION;
    const logFromBytes = opts.logFromBytes ?? LOG_FROM_BYTES;
    const maxLogPieces = opts.maxLogPieces ?? MAX_LOG_PIECES;
    if (!Number.isInteger(this.maxNodeBytes) || this.maxNodeBytes < 64) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `maxNodeBytes must be an integer ≥ 64, got ${String(opts.maxNodeBytes)}`);
    }
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < this.maxNodeBytes) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `maxBytes must be an integer ≥ maxNodeBytes, got ${String(opts.maxBytes)}`);
    }
    if (!Number.isInteger(this.level) || this.level < -1 || this.level > 9) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `compressionLevel must be an integer from 1 to 9, got ${String(opts.compressionLevel)}`);
    }
    // Infinity is allowed: no log (every commit writes the whole document, as before the log).
    if (!(logFromBytes === Number.POSITIVE_INFINITY || (Number.isInteger(logFromBytes) && logFromBytes >= 1))) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `logFromBytes must be a positive integer or Infinity, got ${String(opts.logFromBytes)}`);
    }
    if (!Number.isInteger(maxLogPieces) || maxLogPieces < 1) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `maxLogPieces must be a positive integer, got ${String(opts.maxLogPieces)}`);
    }
    this.limits = { logFromBytes, maxLogPieces, maxNodeBytes: this.maxNodeBytes, maxBytes: this.maxBytes };
    this.appendIntervalMs = opts.appendIntervalMs ?? APPEND_INTERVAL_MS;
    this.onBackgroundConflict = opts.onBackgroundConflict;
    if (!Number.isFinite(this.appendIntervalMs) || this.appendIntervalMs < 0) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `appendIntervalMs must be a non-negative number, got ${String(opts.appendIntervalMs)}`);
    }
  }

  protected read(): Promise<RegistrySnapshot | undefined> {
    return this.exclusive(async () => {
      // Whatever this master had in flight started from what it knew: given up.
      await this.abandonCompaction();
      this.compactionFailedAt = undefined;
      return this.readHead();
    });
  }

  private async readHead(): Promise<RegistrySnapshot | undefined> {
    for (let attempt = 1; ; attempt++) {
      const got = await this.session.get(this.node);
      const head = got === undefined ? ({ kind: 'empty' } as const) : parseHead(got.data, `zk:${this.node}`);
      this.sweepNeeded = true;
      if (got === undefined || head.kind === 'empty') {
        this.remember(got === undefined ? -1 : got.version, undefined, [], 0, got?.data.length ?? 0);
        return undefined;
      }
      if (head.kind === 'json') {
        this.remember(got.version, undefined, [], 0, got.data.length);
        return decodeRegistry(head.text, `zk:${this.node}`);
      }
      if (head.kind === 'compressed') {
        this.remember(got.version, undefined, [], 0, got.data.length);
        return decodeRegistry(await this.inflate(head.data, `zk:${this.node}`), `zk:${this.node}`);
      }
      const { manifest } = head;
      const stored = await this.readPieces(manifest);
      if (stored === undefined) {
        // A piece went: a newer head replaced this one and its writer swept. Read that head.
        const now = await this.session.get(this.node);
        if (now?.version === got.version) {
          const named = [...manifest.chunks, ...(manifest.log ?? [])];
          throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at zk:${this.node} names pieces that do not exist (${named.join(', ')})`);
        }
        if (attempt >= MAX_READ_ATTEMPTS) {
          throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry at zk:${this.node} kept changing while it was read (${attempt} attempts; another leader?)`);
        }
        continue;
      }
      const snapshot = decodeRegistry(await this.inflate(stored.snapshot, `zk:${this.node}`), `zk:${this.node}`);
      const log = manifest.log ?? [];
      const texts = await Promise.all(stored.log.map((data, i) => this.inflate(data, `zk:${this.node}/${log[i]!}`)));
      // A fresh document: nothing to roll back, so changed in place.
      const draft = new RegistryDraft(snapshot, 'inPlace');
      texts.forEach((text, i) => {
        const where = `zk:${this.node}/${log[i]!}`;
        for (const op of decodeLogPiece(text, where)) {
          try {
            draft.apply(op);
          } catch (err) {
            throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry log piece ${where}: ${(err as Error).message}`, { cause: err });
          }
        }
      });
      this.remember(got.version, manifest, log, stored.log.reduce((sum, data) => sum + data.length, 0), got.data.length);
      return draft.snapshot;
    }
  }

  /** Records what the head holds (as read or written) and its size in bytes. */
  private remember(version: number, snapshot: SnapshotRef | undefined, log: readonly string[], logBytes: number, headBytes: number): void {
    this.version = version;
    this.snapshot = snapshot === undefined ? undefined : { chunks: snapshot.chunks, bytes: snapshot.bytes, sha256: snapshot.sha256 };
    this.log = log;
    this.logBytes = logBytes;
    this.headBytes = headBytes;
  }

  /** The snapshot's pieces joined and checked against the manifest, and the log pieces; undefined when one is missing. */
  private async readPieces(manifest: Manifest): Promise<{ snapshot: Buffer; log: Buffer[] } | undefined> {
    const names = [...manifest.chunks, ...(manifest.log ?? [])];
    const parts = await Promise.all(names.map((name) => this.session.get(`${this.node}/${name}`)));
    if (parts.some((p) => p === undefined)) return undefined;
    const data = parts.map((p) => p!.data);
    const joined = Buffer.concat(data.slice(0, manifest.chunks.length));
    if (joined.length !== manifest.bytes) {
      throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at zk:${this.node}: its pieces hold ${joined.length} bytes, the manifest says ${manifest.bytes}`);
    }
    const digest = createHash('sha256').update(joined).digest('hex');
    if (digest !== manifest.sha256) {
      throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at zk:${this.node}: its pieces do not match the manifest's SHA-256`);
    }
    return { snapshot: joined, log: data.slice(manifest.chunks.length) };
  }

  private async inflate(data: Buffer, where: string): Promise<string> {
    let text: Buffer;
    try {
      // Bounded so that a corrupt (or hostile) stream cannot exhaust memory.
      text = await unzipAsync(data, { maxOutputLength: bufferConstants.MAX_STRING_LENGTH });
    } catch (err) {
      throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at ${where} is not valid compressed data: ${(err as Error).message}`, { cause: err });
    }
    return text.toString('utf8');
  }

  protected async write(snapshot: RegistrySnapshot, ops: readonly RegistryOp[]): Promise<void> {
    await this.exclusive(async () => {
      const started = this.clock.now();
      let kind: 'full' | 'compact' | 'append' = 'full';
      try {
        kind = await this.store(snapshot, ops);
      } finally {
        const ended = this.clock.now();
        const took = ended - started;
        if (kind === 'full') this.nextBatchAt = took >= PACE_FROM_MS ? ended + took : ended;
        else this.nextBatchAt = started + this.appendIntervalMs;
      }
    });
  }

  /** See {@link PACE_FROM_MS} and {@link APPEND_INTERVAL_MS}. */
  protected override beforeBatch(): Promise<void> | undefined {
    const wait = this.nextBatchAt - this.clock.now();
    if (wait <= 0) return undefined;
    return new Promise<void>((resolve) => {
      this.clock.setTimeout(resolve, wait);
    });
  }

  /** Pending writes complete first; then a compaction in flight is abandoned and its pieces deleted. */
  override async close(): Promise<void> {
    await super.close();
    this.closed = true;
    await this.exclusive(() => this.abandonCompaction());
  }

  /**
   * Resolves once no compaction is in flight beside the write loop: the last one committed
   * (and its sweep done), failed or abandoned. For tools and tests that read the store
   * directly; writes never need it.
   */
  async settled(): Promise<void> {
    for (;;) {
      await this.compaction?.settled;
      // A ready compaction's commit (and its sweep) queued on the lock when it became ready.
      const lock = this.headLock;
      await lock;
      if (this.compaction === undefined && this.headLock === lock) return;
    }
  }

  /**
   * Runs `fn` alone among the head's readers and writers: the write loop's commits, a load,
   * and the commit of a compaction that became ready while no write was in flight.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.headLock.then(fn);
    this.headLock = run.then(() => undefined, () => undefined);
    return run;
  }

  /** Appends the batch (committing a ready compaction with it), or writes the whole document; says which it did. */
  private async store(snapshot: RegistrySnapshot, ops: readonly RegistryOp[]): Promise<'full' | 'compact' | 'append'> {
    let piece: Buffer | undefined;
    let kind: 'full' | 'compact' | 'append' = 'full';
    let batchTooLarge = false;
    for (;;) {
      const compaction = this.compaction;
      if (ops.length > 0 && compaction?.ref !== undefined) {
        piece ??= await this.encodeBatch(ops);
        if (await this.commitCompaction(compaction, compaction.ref, piece)) {
          this.maybeStartCompaction(snapshot);
          return 'append';
        }
        // The batch does not fit beside the new snapshot (a batch over a znode): a whole write.
        kind = 'full';
        batchTooLarge = true;
        break;
      }
      const shape = { snapshotBytes: this.version >= 0 ? this.snapshot?.bytes : undefined, logBytes: this.logBytes, logPieces: this.log.length };
      kind = ops.length === 0 ? 'full' : chooseWrite(shape, this.limits);
      if (kind === 'append') {
        // Only now is the batch encoded: O(batch), and only for a write that may append.
        piece ??= await this.encodeBatch(ops);
        const name = `v${this.version + 1}-${randomBytes(8).toString('hex')}-log`;
        const head = encodeManifest({ registryChunks: 1, ...this.snapshot!, log: [...this.log, name] });
        kind = chooseWrite(shape, this.limits, { pieceBytes: piece.length, headBytes: Buffer.byteLength(head) });
        if (kind === 'append') {
          await this.append(name, piece, head);
          this.maybeStartCompaction(snapshot);
          return kind;
        }
        batchTooLarge = kind === 'full';
      }
      // The log's hard limit: wait for the compaction in flight, then commit it with this batch
      // (or, if it failed, write the whole document below).
      if (kind === 'compact' && compaction !== undefined) {
        await compaction.settled;
        continue;
      }
      break;
    }
    void this.abandonCompaction();
    await this.writeWhole(snapshot);
    // A whole write that leaves a snapshot to append to (a registry that just grew past
    // logFromBytes, or an old format converted) is followed by appends: not paced.
    if (kind === 'full' && !batchTooLarge && this.snapshot !== undefined && this.snapshot.bytes >= this.limits.logFromBytes) return 'compact';
    return kind;
  }

  private encodeBatch(ops: readonly RegistryOp[]): Promise<Buffer> {
    return deflateAsync(Buffer.from(encodeLogPiece(ops), 'utf8'), { level: this.level });
  }

  /** Creates the log piece, then commits the head naming it. */
  private async append(name: string, piece: Buffer, head: string): Promise<void> {
    await this.createLogPiece(name, piece);
    await this.setHead(Buffer.from(head, 'utf8'), [name]);
    this.remember(this.version, this.snapshot, [...this.log, name], this.logBytes + piece.length, Buffer.byteLength(head));
    // Nothing became garbage: only a sweep already due (after a read or a failure) runs.
    if (this.sweepNeeded) await this.sweep();
  }

  private async createLogPiece(name: string, piece: Buffer): Promise<void> {
    try {
      await this.session.create(`${this.node}/${name}`, piece, 'PERSISTENT');
    } catch (err) {
      // Nothing committed; after a lost connection the piece may exist all the same.
      await this.discard([name]);
      throw err;
    }
  }

  /**
   * Commits a ready compaction: the head names its snapshot, the log pieces appended since the
   * document it holds, and the batch's piece when there is one. False (nothing written) when
   * the batch does not fit beside the new snapshot. The old snapshot and the log pieces before
   * the compaction's version are garbage after it, and swept.
   */
  private async commitCompaction(compaction: Compaction, ref: SnapshotRef, piece: Buffer | undefined): Promise<boolean> {
    const tail = this.log.slice(compaction.logPieces);
    const tailBytes = this.logBytes - compaction.logBytes;
    const name = piece === undefined ? undefined : `v${this.version + 1}-${randomBytes(8).toString('hex')}-log`;
    const log = name === undefined ? tail : [...tail, name];
    const head = encodeManifest({ registryChunks: 1, ...ref, log });
    if (piece !== undefined) {
      const shape = { snapshotBytes: ref.bytes, logBytes: tailBytes, logPieces: tail.length };
      if (chooseWrite(shape, this.limits, { pieceBytes: piece.length, headBytes: Buffer.byteLength(head) }) !== 'append') return false;
      // A failure here changes nothing: the compaction stays ready for the next write.
      await this.createLogPiece(name!, piece);
    }
    // From here it is committed or, if the set fails, abandoned (setHead deletes its pieces
    // when the set surely failed; after a lost connection the head may name them).
    this.compaction = undefined;
    await this.setHead(Buffer.from(head, 'utf8'), name === undefined ? compaction.names : [...compaction.names, name]);
    this.remember(this.version, ref, log, tailBytes + (piece?.length ?? 0), Buffer.byteLength(head));
    this.compactionFailedAt = undefined;
    this.sweepNeeded = true;
    await this.sweep();
    return true;
  }

  /** After an append: starts a compaction of the document as of it when the log is past its soft limits ({@link compactionDue}). */
  private maybeStartCompaction(snapshot: RegistrySnapshot): void {
    if (this.compaction !== undefined || this.closed) return;
    const shape = { snapshotBytes: this.snapshot?.bytes, logBytes: this.logBytes, logPieces: this.log.length };
    if (!compactionDue(shape, this.headBytes, this.limits, this.compactionFailedAt)) return;
    // Captured now: the registry changes the document in place once this write settles.
    const captured = captureRegistry(snapshot);
    let settle!: () => void;
    const compaction: Compaction = {
      version: this.version, logPieces: this.log.length, logBytes: this.logBytes, names: [], abandoned: false,
      settled: new Promise<void>((resolve) => { settle = resolve; }),
    };
    this.compaction = compaction;
    void this.prepareCompaction(compaction, captured).finally(settle);
  }

  /**
   * Encodes, compresses and creates a compaction's snapshot pieces, beside the log: the head is
   * not touched (a write commits it, or {@link commitWhenIdle}). On failure, or once abandoned,
   * deletes what it created. Never rejects.
   */
  private async prepareCompaction(compaction: Compaction, captured: CapturedRegistry): Promise<void> {
    try {
      const data = await this.deflateCaptured(captured, () => compaction.abandoned);
      if (data === undefined) return;
      if (data.length > this.maxBytes) {
        throw new AgoraError('AGORA_REGISTRY_TOO_LARGE', `registry document is ${data.length} bytes compressed, over the limit of ${this.maxBytes} bytes`);
      }
      // Named for the version whose document it holds (see the header: garbage).
      const ref = await this.createSnapshotPieces(data, compaction.version, compaction.names);
      if (compaction.abandoned) {
        await this.discard(compaction.names);
        return;
      }
      compaction.ref = ref;
      void this.commitWhenIdle(compaction);
    } catch {
      // Nothing committed, nothing lost: the log goes on, and a later compaction (or, at the
      // hard limit, a whole write) takes its place. Its pieces are garbage.
      if (this.compaction === compaction) {
        this.compaction = undefined;
        this.compactionFailedAt = this.log.length;
      }
      await this.discard(compaction.names);
    }
  }

  /** Commits a ready compaction no write has committed: through the head lock, so never beside a write. */
  private async commitWhenIdle(compaction: Compaction): Promise<void> {
    await this.exclusive(async () => {
      if (this.compaction !== compaction || compaction.ref === undefined) return;
      try {
        await this.commitCompaction(compaction, compaction.ref, undefined);
      } catch (err) {
        // A deposed master or a lost connection (setHead reports both as a conflict: this
        // master no longer knows the head). The pieces are deleted by setHead or left to a
        // sweep. Nobody awaits this commit, so the conflict is reported here.
        if (err instanceof AgoraError && err.code === 'AGORA_REGISTRY_CONFLICT') this.onBackgroundConflict?.(err);
      }
    });
  }

  /**
   * Gives up the compaction in flight (a read, a whole write, close): it stops, and its pieces
   * are deleted — now when they are all created, else by its task once its creates are over.
   * Resolves when they are.
   */
  private async abandonCompaction(): Promise<void> {
    const compaction = this.compaction;
    if (compaction === undefined) return;
    this.compaction = undefined;
    compaction.abandoned = true;
    if (compaction.ref !== undefined) await this.discard(compaction.names);
    else await compaction.settled;
  }

  /**
   * The captured document compressed, encoded a part at a time into a zlib stream: each part
   * is compressed on the thread pool while the event loop serves commits and admissions (at
   * 100,000 varied agents the document is 100 MB of JSON). Undefined once `abandoned()`.
   */
  private async deflateCaptured(captured: CapturedRegistry, abandoned: () => boolean): Promise<Buffer | undefined> {
    const stream = createDeflate({ level: this.level });
    const out: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    const ended = once(stream, 'end');
    try {
      for (const part of encodeCapturedRegistry(captured, AGENTS_PER_PART)) {
        if (abandoned()) return undefined;
        await new Promise<void>((resolve, reject) => {
          stream.write(part, (err) => (err ? reject(err) : resolve()));
        });
      }
      stream.end();
      await ended;
    } finally {
      if (!stream.writableFinished) stream.destroy();
    }
    return Buffer.concat(out);
  }

  /**
   * Creates `data` as snapshot pieces `v<version>-<token>-<i>` of at most maxNodeBytes each, all
   * at once. Each name is pushed to `names` before its create starts (a compaction's sweep-proof
   * list, and what the caller discards on failure); throws the first failed create's error once
   * every create is over.
   */
  private async createSnapshotPieces(data: Buffer, version: number, names: string[]): Promise<SnapshotRef> {
    const token = randomBytes(8).toString('hex');
    const writes: Promise<string>[] = [];
    for (let i = 0, offset = 0; offset < data.length; i++, offset += this.maxNodeBytes) {
      const name = `v${version}-${token}-${i}`;
      names.push(name);
      writes.push(this.session.create(`${this.node}/${name}`, data.subarray(offset, offset + this.maxNodeBytes), 'PERSISTENT'));
    }
    const created = await Promise.allSettled(writes);
    const failed = created.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return { chunks: [...names], bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  }

  /** The whole document: inline when small and it fits, else a new snapshot in pieces; either way no log. */
  private async writeWhole(snapshot: RegistrySnapshot): Promise<void> {
    const data = await this.compress(snapshot);
    const inPieces = data.length > this.maxNodeBytes || data.length >= this.limits.logFromBytes;
    if (this.version < 0) {
      const parent = this.node.slice(0, this.node.lastIndexOf('/'));
      if (parent !== '') await this.session.mkdirp(parent);
      // An inline document is created in one step; otherwise an empty head first (read as
      // "no registry yet") to hang the pieces under, then the usual conditional set.
      try {
        await this.session.create(this.node, inPieces ? Buffer.alloc(0) : data, 'PERSISTENT');
      } catch (err) {
        throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry ${this.node} was created by another master: ${(err as Error).message}`, { cause: err });
      }
      this.remember(0, undefined, [], 0, inPieces ? 0 : data.length);
      if (!inPieces) return;
    }
    // Whatever the old head named is garbage once this commits.
    const hadPieces = this.snapshot !== undefined || this.log.length > 0;
    if (!inPieces) {
      await this.setHead(data, []);
      this.remember(this.version, undefined, [], 0, data.length);
    } else {
      const names: string[] = [];
      let ref: SnapshotRef;
      try {
        ref = await this.createSnapshotPieces(data, this.version + 1, names);
      } catch (err) {
        // Nothing committed: the head still names the old pieces; the new ones are garbage.
        await this.discard(names);
        throw err;
      }
      const head = Buffer.from(encodeManifest({ registryChunks: 1, ...ref }), 'utf8');
      await this.setHead(head, names);
      this.remember(this.version, ref, [], 0, head.length);
    }
    this.compactionFailedAt = undefined;
    // The old head's pieces are garbage from here on, and so is any orphan left for an older version.
    if (hadPieces || inPieces) this.sweepNeeded = true;
    if (this.sweepNeeded) await this.sweep();
  }

  /** The compressed document. `AGORA_REGISTRY_TOO_LARGE` past the limit. */
  private async compress(snapshot: RegistrySnapshot): Promise<Buffer> {
    let text: string;
    try {
      text = encodeRegistry(snapshot);
    } catch (err) {
      // V8's string length limit (~512 MiB): far past anything that would fit anyway.
      throw new AgoraError('AGORA_REGISTRY_TOO_LARGE', `registry document does not fit in one string: ${(err as Error).message}`, { cause: err });
    }
    // Off the event loop: about 100 ms for 20 MB of JSON (20,000 agents).
    const data = await deflateAsync(Buffer.from(text, 'utf8'), { level: this.level });
    if (data.length > this.maxBytes) {
      throw new AgoraError('AGORA_REGISTRY_TOO_LARGE', `registry document of ${text.length} characters is ${data.length} bytes compressed, over the limit of ${this.maxBytes} bytes (${Math.ceil(this.maxBytes / this.maxNodeBytes)} znodes of ${this.maxNodeBytes})`);
    }
    return data;
  }

  /** The commit: the head, conditional on the version this master last read or wrote. Updates the version only. */
  private async setHead(data: Buffer, created: readonly string[]): Promise<void> {
    try {
      this.version = await this.session.set(this.node, data, this.version);
    } catch (err) {
      // This master no longer knows the head: it steps down. Its new pieces are garbage when the
      // set surely failed; after a lost connection the head may name them (a successor sweeps).
      // A compaction in flight is given up: whatever comes next starts from a read.
      this.sweepNeeded = true;
      void this.abandonCompaction();
      const code = (err as { code?: unknown }).code;
      if (code === 'AGORA_ZK_BAD_VERSION' || code === 'AGORA_ZK_NO_NODE') await this.discard(created);
      throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry ${this.node} changed under this master (another leader?): ${(err as Error).message}`, { cause: err });
    }
  }

  /** Deletes pieces of a write that did not commit (best effort: a later sweep gets what stays). */
  private async discard(names: readonly string[]): Promise<void> {
    this.sweepNeeded = true;
    await Promise.allSettled(names.map((name) => this.session.delete(`${this.node}/${name}`)));
  }

  /**
   * Deletes the pieces (snapshot or log) no head can name any more: those written for a
   * version up to the current one that the current head does not name, except the pieces of
   * this master's compaction in flight (see the header: garbage). Best effort: the registry is
   * already durable, and what stays is deleted by a later write.
   */
  private async sweep(): Promise<void> {
    try {
      const names = await this.session.children(this.node);
      // Read after the listing: a compaction's names are set before its first create.
      const keep = new Set([...(this.snapshot?.chunks ?? []), ...this.log, ...(this.compaction?.names ?? [])]);
      const stale = names.filter((name) => {
        const version = pieceVersion(name);
        return version !== undefined && version <= this.version && !keep.has(name);
      });
      await Promise.all(stale.map((name) => this.session.delete(`${this.node}/${name}`)));
      this.sweepNeeded = false;
    } catch {
      this.sweepNeeded = true;
    }
  }
}
