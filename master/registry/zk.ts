/**
 * The registry in ZooKeeper (HA mode). The registry document (the same JSON as the file
 * store's, see types.ts) is zlib-compressed and stored at `<path>/registry` (the *head*)
 * when it fits in one znode; a larger one is cut into pieces stored as immutable child
 * znodes `<path>/registry/v<target>-<token>-<i>`, and the head then holds a small JSON
 * *manifest* naming them (with the length and SHA-256 of the compressed stream).
 *
 * Why pieces and not one znode: ZooKeeper refuses znodes over jute.maxbuffer (1 MB by
 * default). Compressed, an agent costs 20–30 bytes when agents look alike (emulated
 * `emu-N` agents) but about 60–80 bytes with realistic variety (distinct hostnames, sizes,
 * attributes, reservations), so 20,000 agents plus 10,000 unreachable ones take 1.1–1.4 MB:
 * compression alone does not reach that scale (figures in docs/zookeeper.md). The
 * `zookeeper` client has no multi-op, so the pieces cannot be written in one transaction;
 * instead:
 *
 * - **Atomic, conditional writes**: the pieces are created first (new names every write,
 *   never overwritten), then the head is set with compare-and-set on the version this
 *   master last read or wrote. That one set is the commit: readers only follow the head, so
 *   they see the old document or the new one, never a mix. A deposed leader's head write
 *   fails (`AGORA_REGISTRY_CONFLICT`, it steps down as before) and it deletes its pieces.
 * - **Garbage**: a piece's name carries the head version it was written for (`v<target>`).
 *   After a successful set to version V, a piece for a version ≤ V that the head does not
 *   name can never be named again (the head moved past its version), so the writer deletes
 *   those; pieces for a later version belong to a writer racing for it and are left alone.
 * - **Reading** follows the head; when a piece it names is missing (the writer of a newer
 *   head deleted it meanwhile), it reads the head again; a piece missing under an
 *   unchanged head is corruption.
 *
 * Formats read at `<path>/registry`: plain JSON (written by Agora before compression; an
 * upgrade in place: the next write uses the new format), zlib or gzip data (by magic bytes),
 * and the manifest (JSON with `registryChunks`). Anything else is `AGORA_REGISTRY_CORRUPT`,
 * never silently reset.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { deflate, unzip, constants as zlibConstants } from 'node:zlib';
import { z } from 'zod';
import { systemClock, type Clock } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import { decodeRegistry, DocumentRegistry, encodeRegistry, type RegistrySnapshot } from './types.js';

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
 * The largest compressed registry stored (16 znodes). Every write stores the whole document,
 * and ZooKeeper keeps every znode in memory on every server: past this the registry is
 * refused with `AGORA_REGISTRY_TOO_LARGE` (about 150,000 realistic agents).
 */
export const MAX_REGISTRY_BYTES = 8_000_000;

/** Options of {@link ZkRegistry} (tests shrink the sizes to exercise pieces with small registries). */
export interface ZkRegistryOptions {
  /** Largest znode written, head or piece. Default {@link MAX_REGISTRY_NODE_BYTES}. */
  maxNodeBytes?: number;
  /** Largest compressed document stored. Default {@link MAX_REGISTRY_BYTES}. */
  maxBytes?: number;
  /** zlib level (1 fastest … 9 smallest). Default 6 (zlib's default). */
  compressionLevel?: number;
  /** Times the writes for {@link PACE_FROM_MS pacing}. Default: the system clock. */
  clock?: Clock;
}

/**
 * Writes that took at least this long are followed by a pause as long as the write before the
 * next batch is taken. Every write stores the whole document, so its cost grows with the
 * cluster, not with the batch: written back to back, 15,000 agents registering at once kept
 * a core busy with encoding and compressing (29 s of CPU against 12.5 s with the file store,
 * which appends). With the pause a registry write takes at most about half of the time, the
 * batches grow instead, and an admission waits at most one write longer. Small registries
 * write in a few ms and never pause.
 */
export const PACE_FROM_MS = 10;

/** Head reads retried when the pieces it names vanish under a newer head. */
const MAX_READ_ATTEMPTS = 5;

/** A piece's name: the head version it was written for, a token unique to the write, its index. */
const PIECE_NAME = /^v(\d+)-([0-9a-f]{16})-(\d+)$/;

const ManifestSchema = z.object({
  registryChunks: z.literal(1),
  chunks: z.array(z.string().regex(PIECE_NAME)).min(1),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
}).strict();
type Manifest = z.infer<typeof ManifestSchema>;

/** zlib (0x78, header checksum) or gzip (0x1f 0x8b): what `unzip` reads. */
function isCompressed(data: Buffer): boolean {
  if (data.length < 2) return false;
  if (data[0] === 0x1f && data[1] === 0x8b) return true;
  return (data[0]! & 0x0f) === 8 && ((data[0]! << 8) | data[1]!) % 31 === 0;
}

/** What the head holds: nothing, a plain-JSON document, a compressed one, or a manifest of pieces. */
type HeadContent = { kind: 'empty' } | { kind: 'json'; text: string } | { kind: 'compressed'; data: Buffer } | { kind: 'manifest'; manifest: Manifest };

export class ZkRegistry extends DocumentRegistry {
  /** The head znode, `<path>/registry`. */
  readonly node: string;
  /** Version of the head as last read or written; -1 when it does not exist. */
  private version = -1;
  /** Pieces the head named when last read or written. */
  private pieces: readonly string[] = [];
  /** Set when pieces may need deleting (unknown after a read, old pieces, a failed write's). */
  private sweepNeeded = true;
  private readonly maxNodeBytes: number;
  private readonly maxBytes: number;
  private readonly level: number;
  private readonly clock: Clock;
  /** How long the last write took, and when it ended (clock ms). */
  private lastWriteMs = 0;
  private lastWriteEnd = Number.NEGATIVE_INFINITY;

  constructor(private readonly session: RegistryZkSession, basePath: string, opts: ZkRegistryOptions = {}) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.node = `${basePath.replace(/\/+$/, '')}/registry`;
    this.maxNodeBytes = opts.maxNodeBytes ?? MAX_REGISTRY_NODE_BYTES;
    this.maxBytes = opts.maxBytes ?? MAX_REGISTRY_BYTES;
    this.level = opts.compressionLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION;
    if (!Number.isInteger(this.maxNodeBytes) || this.maxNodeBytes < 64) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `maxNodeBytes must be an integer ≥ 64, got ${String(opts.maxNodeBytes)}`);
    }
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < this.maxNodeBytes) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `maxBytes must be an integer ≥ maxNodeBytes, got ${String(opts.maxBytes)}`);
    }
    if (!Number.isInteger(this.level) || this.level < -1 || this.level > 9) {
      throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `compressionLevel must be an integer from 1 to 9, got ${String(opts.compressionLevel)}`);
    }
  }

  protected async read(): Promise<RegistrySnapshot | undefined> {
    for (let attempt = 1; ; attempt++) {
      const got = await this.session.get(this.node);
      const head = got === undefined ? ({ kind: 'empty' } as const) : this.parseHead(got.data);
      this.sweepNeeded = true;
      if (got === undefined || head.kind === 'empty') {
        this.version = got === undefined ? -1 : got.version;
        this.pieces = [];
        return undefined;
      }
      if (head.kind === 'json') {
        this.version = got.version;
        this.pieces = [];
        return decodeRegistry(head.text, `zk:${this.node}`);
      }
      let data: Buffer;
      if (head.kind === 'compressed') {
        data = head.data;
      } else {
        const joined = await this.readPieces(head.manifest);
        if (joined === undefined) {
          // A piece went: a newer head replaced this one and its writer swept. Read that head.
          const now = await this.session.get(this.node);
          if (now?.version === got.version) {
            throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at zk:${this.node} names pieces that do not exist (${head.manifest.chunks.join(', ')})`);
          }
          if (attempt >= MAX_READ_ATTEMPTS) {
            throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry at zk:${this.node} kept changing while it was read (${attempt} attempts; another leader?)`);
          }
          continue;
        }
        data = joined;
      }
      this.version = got.version;
      this.pieces = head.kind === 'manifest' ? head.manifest.chunks : [];
      return decodeRegistry(await this.inflate(data), `zk:${this.node}`);
    }
  }

  private parseHead(data: Buffer): HeadContent {
    if (data.length === 0) return { kind: 'empty' };
    if (isCompressed(data)) return { kind: 'compressed', data };
    const text = data.toString('utf8');
    // This writer's manifest starts so; a plain-JSON document (the old format) with `{"format":1`.
    if (text.startsWith('{"registryChunks":')) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (err) {
        throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry manifest at zk:${this.node} is not JSON: ${(err as Error).message}`, { cause: err });
      }
      const parsed = ManifestSchema.safeParse(raw);
      if (!parsed.success) {
        throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry manifest at zk:${this.node} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
      return { kind: 'manifest', manifest: parsed.data };
    }
    return { kind: 'json', text };
  }

  /** The pieces joined and checked against the manifest; undefined when one is missing. */
  private async readPieces(manifest: Manifest): Promise<Buffer | undefined> {
    const parts = await Promise.all(manifest.chunks.map((name) => this.session.get(`${this.node}/${name}`)));
    if (parts.some((p) => p === undefined)) return undefined;
    const joined = Buffer.concat(parts.map((p) => p!.data));
    if (joined.length !== manifest.bytes) {
      throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at zk:${this.node}: its pieces hold ${joined.length} bytes, the manifest says ${manifest.bytes}`);
    }
    const digest = createHash('sha256').update(joined).digest('hex');
    if (digest !== manifest.sha256) {
      throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at zk:${this.node}: its pieces do not match the manifest's SHA-256`);
    }
    return joined;
  }

  private async inflate(data: Buffer): Promise<string> {
    let text: Buffer;
    try {
      // Bounded so that a corrupt (or hostile) stream cannot exhaust memory.
      text = await unzipAsync(data, { maxOutputLength: bufferConstants.MAX_STRING_LENGTH });
    } catch (err) {
      throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at zk:${this.node} is not valid compressed data: ${(err as Error).message}`, { cause: err });
    }
    return text.toString('utf8');
  }

  protected async write(snapshot: RegistrySnapshot): Promise<void> {
    const started = this.clock.now();
    try {
      await this.store(snapshot);
    } finally {
      this.lastWriteEnd = this.clock.now();
      this.lastWriteMs = this.lastWriteEnd - started;
    }
  }

  /** See {@link PACE_FROM_MS}. */
  protected override beforeBatch(): Promise<void> | undefined {
    if (this.lastWriteMs < PACE_FROM_MS) return undefined;
    const wait = this.lastWriteEnd + this.lastWriteMs - this.clock.now();
    if (wait <= 0) return undefined;
    return new Promise<void>((resolve) => {
      this.clock.setTimeout(resolve, wait);
    });
  }

  private async store(snapshot: RegistrySnapshot): Promise<void> {
    const data = await this.compress(snapshot);
    if (this.version < 0) {
      const parent = this.node.slice(0, this.node.lastIndexOf('/'));
      if (parent !== '') await this.session.mkdirp(parent);
      // A document that fits is created in one step; otherwise an empty head first (read as
      // "no registry yet") to hang the pieces under, then the usual conditional set.
      const inline = data.length <= this.maxNodeBytes;
      try {
        await this.session.create(this.node, inline ? data : Buffer.alloc(0), 'PERSISTENT');
      } catch (err) {
        throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry ${this.node} was created by another master: ${(err as Error).message}`, { cause: err });
      }
      this.version = 0;
      this.pieces = [];
      if (inline) return;
    }
    if (data.length <= this.maxNodeBytes) {
      await this.setHead(data, []);
    } else {
      const target = this.version + 1;
      const token = randomBytes(8).toString('hex');
      const names: string[] = [];
      const writes: Promise<string>[] = [];
      for (let i = 0, offset = 0; offset < data.length; i++, offset += this.maxNodeBytes) {
        const name = `v${target}-${token}-${i}`;
        names.push(name);
        writes.push(this.session.create(`${this.node}/${name}`, data.subarray(offset, offset + this.maxNodeBytes), 'PERSISTENT'));
      }
      const created = await Promise.allSettled(writes);
      const failed = created.find((c): c is PromiseRejectedResult => c.status === 'rejected');
      if (failed !== undefined) {
        // Nothing committed: the head still names the old pieces; the new ones are garbage.
        await this.discard(names);
        throw failed.reason;
      }
      const manifest: Manifest = { registryChunks: 1, chunks: names, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
      await this.setHead(Buffer.from(JSON.stringify(manifest), 'utf8'), names);
    }
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

  /** The commit: the head, conditional on the version this master last read or wrote. */
  private async setHead(data: Buffer, names: readonly string[]): Promise<void> {
    try {
      this.version = await this.session.set(this.node, data, this.version);
    } catch (err) {
      // This master no longer knows the head: it steps down. Its new pieces are garbage when the
      // set surely failed; after a lost connection the head may name them (a successor sweeps).
      this.sweepNeeded = true;
      const code = (err as { code?: unknown }).code;
      if (code === 'AGORA_ZK_BAD_VERSION' || code === 'AGORA_ZK_NO_NODE') await this.discard(names);
      throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry ${this.node} changed under this master (another leader?): ${(err as Error).message}`, { cause: err });
    }
    // The old pieces are garbage from here on, and so is any orphan left for an older version.
    if (this.pieces.length > 0 || names.length > 0) this.sweepNeeded = true;
    this.pieces = names;
  }

  /** Deletes pieces of a write that did not commit (best effort: a later sweep gets what stays). */
  private async discard(names: readonly string[]): Promise<void> {
    this.sweepNeeded = true;
    await Promise.allSettled(names.map((name) => this.session.delete(`${this.node}/${name}`)));
  }

  /**
   * Deletes the pieces no head can name any more: those written for a version up to the
   * current one that the current head does not name. Best effort: the registry is already
   * durable, and what stays is deleted by a later write.
   */
  private async sweep(): Promise<void> {
    const keep = new Set(this.pieces);
    try {
      const names = await this.session.children(this.node);
      const stale = names.filter((name) => {
        const m = PIECE_NAME.exec(name);
        return m !== null && Number(m[1]) <= this.version && !keep.has(name);
      });
      await Promise.all(stale.map((name) => this.session.delete(`${this.node}/${name}`)));
      this.sweepNeeded = false;
    } catch {
      this.sweepNeeded = true;
    }
  }
}
