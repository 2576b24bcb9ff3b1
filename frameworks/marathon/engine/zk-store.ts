/**
 * The ZooKeeper {@link MarathonStore} (HA mode): the same entities as the file store, one
 * znode each, under `<base>` (Marathon passes `<zk path>/state`):
 *
 * ```
 * <base>/framework-id            "…"            (JSON string)
 * <base>/root                    the current root group
 * <base>/groups/<version>        root group versions (the newest 50)
 * <base>/apps/<id>               that app's versions, oldest first (the newest 50)
 * <base>/deployments/<id>        plans in flight
 * <base>/instances/<id>          instances
 * <base>/failures/<app id>       the last task failure of each app
 * <base>/chunks/<gen>-<n>        pieces of values too big for one znode
 * ```
 *
 * Names are `encodeURIComponent(id)` with `.` escaped too (`%2E`), as in the file store.
 *
 * **Big values.** ZooKeeper refuses a znode over `jute.maxbuffer` (1 MB by default; the
 * native client reads only about half of that back). A value whose JSON is over
 * {@link ZkStoreOptions.maxNodeBytes} (500,000 bytes) is gzip-compressed; if that is still
 * too big, the compressed bytes are written as numbered chunk znodes of a fresh generation
 * (`chunks/<gen>-0`, `-1`, …) and the value's znode gets a manifest naming the generation —
 * chunks first, manifest last, and the previous generation's chunks are deleted only after
 * the manifest points at the new one, so a reader never sees a partial value. A znode's data
 * is told apart by its first bytes: gzip's magic `1f 8b`, the manifest's `AGORA-CHUNKS\n`,
 * anything else is plain JSON.
 *
 * Every write resolves once ZooKeeper acknowledged it; writes to one znode are serialised in
 * call order. Only the leading Marathon writes.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { AgoraError } from '../../../sdk/core/errors.js';
import type { AppDefinition, DeploymentPlan, Group, Instance, PathId, TaskFailure } from '../model/types.js';
import { addVersion, MAX_APP_VERSIONS, MAX_GROUP_VERSIONS, type MarathonStore, type StoredState } from './store.js';

/** What the store needs of a ZooKeeper session (sdk/zk's `ZkSession` has all of it). */
export interface ZkStoreSession {
  create(path: string, data: string | Buffer, mode: 'PERSISTENT'): Promise<string>;
  mkdirp(path: string): Promise<void>;
  get(path: string): Promise<{ data: Buffer; version: number } | undefined>;
  set(path: string, data: string | Buffer, version?: number): Promise<number>;
  children(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  delete(path: string, version?: number): Promise<void>;
}

export interface ZkStoreOptions {
  /**
   * Largest znode payload written (default 500,000 bytes). The server takes up to its
   * `jute.maxbuffer` (1,048,575 by default), but the native client of the `zookeeper` npm
   * package fails to read a znode much over 512 KB back (the session closes with a
   * marshalling error; seen with 700,000 bytes), so values are kept well under that.
   */
  maxNodeBytes?: number;
}

const DIRS = ['groups', 'apps', 'deployments', 'instances', 'failures', 'chunks'] as const;
type Dir = (typeof DIRS)[number];
const MANIFEST_MAGIC = 'AGORA-CHUNKS\n';
const DEFAULT_MAX_NODE_BYTES = 500_000;

/** The manifest of a chunked value. */
interface Manifest {
  /** Generation: the chunks are `chunks/<gen>-0 … <gen>-(count-1)`. */
  gen: string;
  count: number;
  /** Length of the gzip stream (the chunks concatenated). */
  bytes: number;
}

/** A znode name for an id (ids hold `/` and `.`). */
export function znodeNameOf(id: string): string {
  return encodeURIComponent(id).replace(/\./g, '%2E');
}

/**
 * How a value is laid out in ZooKeeper (pure): the value znode's payload and the chunk
 * payloads to write before it (none unless the value is too big even compressed).
 */
export function encodeValue(value: unknown, maxNodeBytes: number, gen: () => string = randomUUID): { node: Buffer; chunks: Buffer[]; manifest?: Manifest } {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (json.length <= maxNodeBytes) return { node: json, chunks: [] };
  const gz = gzipSync(json);
  if (gz.length <= maxNodeBytes) return { node: gz, chunks: [] };
  const chunks: Buffer[] = [];
  for (let off = 0; off < gz.length; off += maxNodeBytes) chunks.push(gz.subarray(off, off + maxNodeBytes));
  const manifest: Manifest = { gen: gen(), count: chunks.length, bytes: gz.length };
  return { node: Buffer.from(MANIFEST_MAGIC + JSON.stringify(manifest), 'utf8'), chunks, manifest };
}

/** The manifest in a znode's payload, if it holds one (pure). */
export function manifestOf(data: Buffer): Manifest | undefined {
  if (data.length < MANIFEST_MAGIC.length || data.subarray(0, MANIFEST_MAGIC.length).toString('utf8') !== MANIFEST_MAGIC) return undefined;
  const m = JSON.parse(data.subarray(MANIFEST_MAGIC.length).toString('utf8')) as Manifest;
  if (typeof m.gen !== 'string' || !Number.isInteger(m.count) || !Number.isInteger(m.bytes)) {
    throw new AgoraError('AGORA_MARATHON_STORE_CORRUPT', 'a chunk manifest in ZooKeeper is malformed');
  }
  return m;
}

/** Decodes a plain or gzip payload (pure). */
export function decodePayload<T>(data: Buffer): T {
  const raw = data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  return JSON.parse(raw.toString('utf8')) as T;
}

function chunkName(gen: string, n: number): string {
  return `${gen}-${n}`;
}

export class ZkMarathonStore implements MarathonStore {
  private readonly chains = new Map<string, Promise<unknown>>();
  private ready: Promise<void> | undefined;
  private readonly maxNodeBytes: number;

  /**
   * @param session a connected ZooKeeper session (owned by the caller: {@link close} does not close it)
   * @param base the state's root znode, e.g. `/marathon/state` (created as needed)
   */
  constructor(private readonly session: ZkStoreSession, readonly base: string, opts: ZkStoreOptions = {}) {
    this.maxNodeBytes = opts.maxNodeBytes ?? DEFAULT_MAX_NODE_BYTES;
    if (!base.startsWith('/') || base.endsWith('/')) throw new AgoraError('AGORA_MARATHON_BAD_OPTION', `ZooKeeper path must start with / and not end with one: ${base}`);
  }

  private ensureDirs(): Promise<void> {
    this.ready ??= (async () => {
      for (const d of DIRS) await this.session.mkdirp(`${this.base}/${d}`);
    })();
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  /** Runs `op` after every earlier operation on `key`. */
  private serial<T>(key: string, op: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(async () => {
      await this.ensureDirs();
      return op();
    });
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    }).catch(() => undefined);
    return next;
  }

  private async upsert(path: string, data: Buffer): Promise<void> {
    if (await this.session.exists(path)) await this.session.set(path, data);
    else await this.session.create(path, data, 'PERSISTENT');
  }

  private async deleteChunks(m: Manifest): Promise<void> {
    for (let n = 0; n < m.count; n++) {
      const p = `${this.base}/chunks/${chunkName(m.gen, n)}`;
      if (await this.session.exists(p)) await this.session.delete(p);
    }
  }

  /** Writes `value` at `path` (chunks first, then the value znode, then old chunks go). */
  private async write(path: string, value: unknown): Promise<void> {
    const old = await this.session.get(path);
    const oldManifest = old !== undefined ? manifestOf(old.data) : undefined;
    const enc = encodeValue(value, this.maxNodeBytes);
    if (enc.manifest !== undefined) {
      for (let n = 0; n < enc.chunks.length; n++) {
        await this.session.create(`${this.base}/chunks/${chunkName(enc.manifest.gen, n)}`, enc.chunks[n]!, 'PERSISTENT');
      }
    }
    await this.upsert(path, enc.node);
    if (oldManifest !== undefined) await this.deleteChunks(oldManifest);
  }

  /** Reads the value at `path` (undefined when absent). */
  private async read<T>(path: string): Promise<T | undefined> {
    // A chunked value being replaced while we read loses its chunks: read again (bounded).
    for (let attempt = 0; ; attempt++) {
      const node = await this.session.get(path);
      if (node === undefined) return undefined;
      const m = manifestOf(node.data);
      if (m === undefined) return decodePayload<T>(node.data);
      const parts: Buffer[] = [];
      let missing = false;
      for (let n = 0; n < m.count && !missing; n++) {
        const c = await this.session.get(`${this.base}/chunks/${chunkName(m.gen, n)}`);
        if (c === undefined) missing = true;
        else parts.push(c.data);
      }
      if (!missing) {
        const gz = Buffer.concat(parts);
        if (gz.length !== m.bytes) throw new AgoraError('AGORA_MARATHON_STORE_CORRUPT', `chunked value at ${path} has ${gz.length} bytes, its manifest says ${m.bytes}`);
        return decodePayload<T>(gz);
      }
      if (attempt >= 5) throw new AgoraError('AGORA_MARATHON_STORE_CORRUPT', `chunks of the value at ${path} are missing`);
    }
  }

  private async remove(path: string): Promise<void> {
    const node = await this.session.get(path);
    if (node === undefined) return;
    await this.session.delete(path);
    const m = manifestOf(node.data);
    if (m !== undefined) await this.deleteChunks(m);
  }

  private async readDir<T>(dir: Dir): Promise<Array<{ name: string; value: T }>> {
    const names = (await this.session.children(`${this.base}/${dir}`)).sort();
    const values = await Promise.all(names.map((n) => this.read<T>(`${this.base}/${dir}/${n}`)));
    const out: Array<{ name: string; value: T }> = [];
    names.forEach((name, i) => {
      if (values[i] !== undefined) out.push({ name, value: values[i] as T });
    });
    return out;
  }

  /** The chunk generations some value znode refers to. */
  private async referencedGenerations(): Promise<Set<string>> {
    const gens = new Set<string>();
    const paths = [`${this.base}/framework-id`, `${this.base}/root`];
    for (const d of DIRS) {
      if (d === 'chunks') continue;
      for (const n of await this.session.children(`${this.base}/${d}`)) paths.push(`${this.base}/${d}/${n}`);
    }
    for (const p of paths) {
      const node = await this.session.get(p);
      const m = node !== undefined ? manifestOf(node.data) : undefined;
      if (m !== undefined) gens.add(m.gen);
    }
    return gens;
  }

  async load(): Promise<StoredState> {
    await this.ensureDirs();
    // Chunks no manifest names are left over from a leader that died mid-write: garbage.
    const chunkNames = await this.session.children(`${this.base}/chunks`);
    if (chunkNames.length > 0) {
      const live = await this.referencedGenerations();
      for (const n of chunkNames) {
        const gen = n.slice(0, n.lastIndexOf('-'));
        if (!live.has(gen)) await this.session.delete(`${this.base}/chunks/${n}`);
      }
    }
    const fw = await this.read<string>(`${this.base}/framework-id`);
    const root = await this.read<Group>(`${this.base}/root`);
    const groupVersions = (await this.readDir<Group>('groups')).map((e) => e.value).sort((a, b) => (a.version < b.version ? -1 : 1));
    const appVersions = new Map<PathId, AppDefinition[]>();
    for (const { value: versions } of await this.readDir<AppDefinition[]>('apps')) {
      if (versions.length > 0) appVersions.set(versions[0]!.id, versions);
    }
    return {
      ...(fw !== undefined ? { frameworkId: fw } : {}),
      ...(root !== undefined ? { root } : {}),
      groupVersions,
      appVersions,
      deployments: (await this.readDir<DeploymentPlan>('deployments')).map((e) => e.value),
      instances: (await this.readDir<Instance>('instances')).map((e) => e.value),
      taskFailures: (await this.readDir<TaskFailure>('failures')).map((e) => e.value),
    };
  }

  saveFrameworkId(id: string): Promise<void> {
    const p = `${this.base}/framework-id`;
    return this.serial(p, () => this.write(p, id));
  }

  async saveRoot(root: Group): Promise<void> {
    const groups = `${this.base}/groups`;
    const versionPath = `${groups}/${znodeNameOf(root.version)}`;
    await this.serial(versionPath, () => this.write(versionPath, root));
    const p = `${this.base}/root`;
    await this.serial(p, () => this.write(p, root));
    // Prune the oldest versions (names sort like the timestamps they encode).
    await this.serial(groups, async () => {
      const names = (await this.session.children(groups)).sort();
      for (const n of names.slice(0, Math.max(0, names.length - MAX_GROUP_VERSIONS))) await this.remove(`${groups}/${n}`);
    });
  }

  saveAppVersion(app: AppDefinition): Promise<void> {
    const p = `${this.base}/apps/${znodeNameOf(app.id)}`;
    return this.serial(p, async () => {
      const versions = (await this.read<AppDefinition[]>(p)) ?? [];
      await this.write(p, addVersion(versions, app, MAX_APP_VERSIONS));
    });
  }

  saveTaskFailure(failure: TaskFailure): Promise<void> {
    const p = `${this.base}/failures/${znodeNameOf(failure.appId)}`;
    return this.serial(p, () => this.write(p, failure));
  }

  async deleteApp(id: PathId): Promise<void> {
    const p = `${this.base}/apps/${znodeNameOf(id)}`;
    await this.serial(p, () => this.remove(p));
    const f = `${this.base}/failures/${znodeNameOf(id)}`;
    await this.serial(f, () => this.remove(f));
  }

  saveDeployment(plan: DeploymentPlan): Promise<void> {
    const p = `${this.base}/deployments/${znodeNameOf(plan.id)}`;
    return this.serial(p, () => this.write(p, plan));
  }

  deleteDeployment(id: string): Promise<void> {
    const p = `${this.base}/deployments/${znodeNameOf(id)}`;
    return this.serial(p, () => this.remove(p));
  }

  saveInstance(instance: Instance): Promise<void> {
    const p = `${this.base}/instances/${znodeNameOf(instance.instanceId)}`;
    return this.serial(p, () => this.write(p, instance));
  }

  deleteInstance(instanceId: string): Promise<void> {
    const p = `${this.base}/instances/${znodeNameOf(instanceId)}`;
    return this.serial(p, () => this.remove(p));
  }

  /** Waits for pending writes (the session stays open: it belongs to the caller). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }
}
