/**
 * A ZooKeeper session with a promise API, over the native `zookeeper` package (loaded
 * lazily by {@link connectZk}, so nothing else in Agora ever loads the addon).
 *
 * What the wrapper adds to the raw client:
 * - Errors are `AgoraError`s with `AGORA_ZK_*` codes ({@link ZK_ERROR_CODES}).
 * - A session that expires is replaced by a new one transparently: the wrapper emits
 *   `'expired'`, opens a new session and emits `'connected'` again. Ephemeral znodes and
 *   watches of the old session are gone; recipes re-create them on `'connected'`.
 * - A connection that stays lost for a whole session timeout is treated as expired on our
 *   side (as Mesos's `zookeeper::Group` does): the server has expired it by then, and a
 *   leader cut off from ZooKeeper must learn that it no longer leads without waiting for
 *   the server to tell it.
 * - Watch callbacks fire only for real node events (created, deleted, data or children
 *   changed), never for session events.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { AgoraError } from '../core/errors.js';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { parseZkUrl, redact, type ZkUrl } from './url.js';

/** How a znode is created. */
export type ZkCreateMode = 'PERSISTENT' | 'EPHEMERAL' | 'EPHEMERAL_SEQUENTIAL' | 'PERSISTENT_SEQUENTIAL';

/** Session lifecycle events. */
export type ZkSessionEvent = 'connected' | 'disconnected' | 'expired';

/** Options of {@link connectZk}. */
export interface ZkConnectOptions {
  /** Requested session timeout (the server clamps it to its min/max). Default 10000. */
  sessionTimeoutMs?: number;
  /** How long {@link connectZk} waits for the first connection before failing. Default 15000. */
  connectTimeoutMs?: number;
  logger?: Logger;
  /** Clock for the connect timeout and the local expiry timer. Default: the system clock. */
  clock?: Clock;
  /** The native client's own log level (0 = off … 4 = debug). Default 0. */
  nativeLogLevel?: number;
  /**
   * Socket reads in a row that complete no response after which the native client gives
   * its session up (it reports that as expiry). Default 100000: its own default (10) is hit
   * while a large znode (up to 1 MB) arrives in small reads on a loaded machine. Dead servers
   * are still caught by the client's receive timeout and our local expiry.
   */
  responseCounterLimit?: number;
}

/** A ZooKeeper session. Paths are absolute; the URL's base path is not applied implicitly. */
export interface ZkSession {
  /** Creates a znode and returns its actual path (with the sequence suffix for sequential modes). Fails with `AGORA_ZK_NODE_EXISTS` / `AGORA_ZK_NO_NODE` (no parent). */
  create(path: string, data: string | Buffer, mode: ZkCreateMode): Promise<string>;
  /** Creates `path` and its missing ancestors as empty persistent znodes; no error when they exist. */
  mkdirp(path: string): Promise<void>;
  /**
   * Reads a znode; undefined when it does not exist. `watch` fires once on the next change
   * or deletion of the node (it is set only when the node exists).
   */
  get(path: string, watch?: () => void): Promise<{ data: Buffer; version: number } | undefined>;
  /** Writes a znode's data (only at `version` when given) and returns the new version. `AGORA_ZK_BAD_VERSION`, `AGORA_ZK_NO_NODE`. */
  set(path: string, data: string | Buffer, version?: number): Promise<number>;
  /** Lists a znode's children (unsorted names). `watch` fires once on the next change of the list or deletion of the node. `AGORA_ZK_NO_NODE`. */
  children(path: string, watch?: () => void): Promise<string[]>;
  /** Whether a znode exists. `watch` fires once when it is created, changed or deleted (it is set either way). */
  exists(path: string, watch?: () => void): Promise<boolean>;
  /** Deletes a znode (only at `version` when given). Deleting a missing znode is not an error. `AGORA_ZK_NOT_EMPTY`, `AGORA_ZK_BAD_VERSION`. */
  delete(path: string, version?: number): Promise<void>;
  /** Deletes a znode and everything under it; a missing znode is not an error. */
  deleteRecursive(path: string): Promise<void>;
  on(event: ZkSessionEvent, fn: () => void): void;
  off(event: ZkSessionEvent, fn: () => void): void;
  /** The current session id (hex), `'0'` before the first connection. Changes after an expiry. */
  readonly sessionId: string;
  /** True while connected to a server. */
  readonly connected: boolean;
  /** Closes the session (its ephemeral znodes go at once). Idempotent. */
  close(): Promise<void>;
}

/** Numeric ZooKeeper return codes and the `AgoraError` codes they become. */
export const ZK_ERROR_CODES: Readonly<Record<number, string>> = {
  [-4]: 'AGORA_ZK_CONNECTION_LOSS',
  [-7]: 'AGORA_ZK_OPERATION_TIMEOUT',
  [-8]: 'AGORA_ZK_BAD_ARGUMENTS',
  [-9]: 'AGORA_ZK_INVALID_STATE',
  [-101]: 'AGORA_ZK_NO_NODE',
  [-102]: 'AGORA_ZK_NO_AUTH',
  [-103]: 'AGORA_ZK_BAD_VERSION',
  [-108]: 'AGORA_ZK_NO_CHILDREN_FOR_EPHEMERALS',
  [-110]: 'AGORA_ZK_NODE_EXISTS',
  [-111]: 'AGORA_ZK_NOT_EMPTY',
  [-112]: 'AGORA_ZK_SESSION_EXPIRED',
  [-115]: 'AGORA_ZK_AUTH_FAILED',
  [-116]: 'AGORA_ZK_CLOSING',
};

const CREATE_FLAGS: Record<ZkCreateMode, number> = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
};

/** Native watch event types (ZOO_*_EVENT); session events (-1) are not passed to watches. */
const NODE_EVENT_TYPES = new Set([1, 2, 3, 4]);
const ZOO_EXPIRED_SESSION_STATE = -112;
const ZOO_AUTH_FAILED_STATE = -113;

/** The subset of the native client (`zookeeper` 7.x promise API) used here. */
interface NativeClient {
  init(config: object): NativeClient;
  on(event: string, fn: (...args: unknown[]) => void): void;
  removeAllListeners(): void;
  close(): void;
  add_auth(scheme: string, auth: string, cb: (rc: number, error: string) => void): number;
  create(path: string, data: string | Buffer, flags: number): Promise<string>;
  exists(path: string, watch: boolean): Promise<unknown>;
  w_exists(path: string, watchCb: WatchCb): Promise<unknown>;
  get(path: string, watch: boolean): Promise<[ { version: number }, Buffer | null ]>;
  w_get(path: string, watchCb: WatchCb): Promise<[ { version: number }, Buffer | null ]>;
  get_children(path: string, watch: boolean): Promise<string[]>;
  w_get_children(path: string, watchCb: WatchCb): Promise<string[]>;
  set(path: string, data: string | Buffer, version: number): Promise<{ version: number }>;
  delete_(path: string, version: number): Promise<unknown>;
  readonly client_id: string;
  readonly client_password: string;
}
type WatchCb = (type: number, state: number, path: string) => void;
type NativeClientClass = new (config: object) => NativeClient;

/** Converts a native client rejection (`Error('-101 no node')`) into an AgoraError. */
export function toZkError(err: unknown, op: string, path: string): AgoraError {
  if (err instanceof AgoraError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const m = /^(-?\d+)\b/.exec(message) ?? /(-\d+)"?\s*$/.exec(message);
  const rc = m ? Number(m[1]) : NaN;
  const code = ZK_ERROR_CODES[rc] ?? 'AGORA_ZK_ERROR';
  const e = new AgoraError(code, `ZooKeeper ${op} ${path} failed: ${message}`, { cause: err });
  (e as AgoraError & { zkReturnCode?: number }).zkReturnCode = Number.isNaN(rc) ? undefined : rc;
  return e;
}

/** ZCLOSING (-116) or ZMARSHALLINGERROR (-5): what the native client answers on a handle it closed. */
function isDeadHandle(err: AgoraError): boolean {
  const rc = (err as AgoraError & { zkReturnCode?: number }).zkReturnCode;
  return rc === -116 || rc === -5;
}

function isCode(err: unknown, code: string): boolean {
  return err instanceof AgoraError && err.code === code;
}

function checkPath(path: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw new AgoraError('AGORA_ZK_BAD_ARGUMENTS', `invalid ZooKeeper path '${String(path)}': absolute, no empty segments, no trailing slash`);
  }
}

let nativeClass: Promise<NativeClientClass> | undefined;
/** Loads the native addon once, on first use. */
async function loadNative(): Promise<NativeClientClass> {
  nativeClass ??= import('zookeeper').then(
    (mod) => ((mod as { default?: unknown }).default ?? mod) as NativeClientClass,
    (err: unknown) => {
      nativeClass = undefined;
      throw new AgoraError('AGORA_ZK_CLIENT_UNAVAILABLE', `cannot load the 'zookeeper' client package: ${(err as Error).message}`, { cause: err });
    },
  );
  return nativeClass;
}

/**
 * Opens a ZooKeeper session and resolves once it is connected (and authenticated when the
 * URL has `user:pass@`).
 *
 * @throws AgoraError `AGORA_ZK_URL_INVALID`, `AGORA_ZK_CONNECT_TIMEOUT`, `AGORA_ZK_CLIENT_UNAVAILABLE`
 * @example
 * const zk = await connectZk('zk://127.0.0.1:2181/agora', { sessionTimeoutMs: 10_000 });
 * await zk.mkdirp('/agora/masters');
 */
export async function connectZk(url: string | ZkUrl, opts: ZkConnectOptions = {}): Promise<ZkSession> {
  const parsed = typeof url === 'string' ? parseZkUrl(url) : url;
  const Native = await loadNative();
  const session = new NativeZkSession(Native, parsed, opts);
  await session.open(opts.connectTimeoutMs ?? 15_000);
  return session;
}

/** {@link ZkSession} over the native client. Exported for tests (session credentials). */
export class NativeZkSession extends EventEmitter implements ZkSession {
  private client: NativeClient | undefined;
  private isConnected = false;
  private closed = false;
  private everConnected = false;
  private lostTimer: TimerHandle | undefined;
  private reopenTimer: TimerHandle | undefined;
  private readonly sessionTimeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  /** Waiters for a live client while one is being (re)opened. */
  private clientWaiters: Array<{ resolve: (c: NativeClient) => void; reject: (err: Error) => void }> = [];

  constructor(
    private readonly Native: NativeClientClass,
    readonly url: ZkUrl,
    private readonly opts: ZkConnectOptions,
  ) {
    super();
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
    if (!Number.isInteger(this.sessionTimeoutMs) || this.sessionTimeoutMs <= 0) {
      throw new AgoraError('AGORA_ZK_BAD_ARGUMENTS', `sessionTimeoutMs must be a positive integer, got ${String(opts.sessionTimeoutMs)}`);
    }
  }

  get sessionId(): string {
    try {
      return this.client?.client_id ?? '0';
    } catch {
      return '0';
    }
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** The session id and password (hex), e.g. to expire the session from outside in tests. */
  credentials(): { sessionId: string; password: string } {
    if (!this.client) throw new AgoraError('AGORA_ZK_INVALID_STATE', 'no ZooKeeper client');
    return { sessionId: this.client.client_id, password: this.client.client_password };
  }

  /** Starts the first session and waits for its connection. */
  async open(connectTimeoutMs: number): Promise<void> {
    try {
      this.startClient();
    } catch (err) {
      this.closed = true;
      throw new AgoraError('AGORA_ZK_ERROR', `could not create a ZooKeeper client for ${this.url.servers}: ${(err as Error).message}`, { cause: err });
    }
    await new Promise<void>((resolve, reject) => {
      if (this.isConnected) {
        resolve();
        return;
      }
      const timer = this.clock.setTimeout(() => {
        this.off('connected', onConnected);
        void this.close();
        reject(new AgoraError('AGORA_ZK_CONNECT_TIMEOUT', `could not connect to ZooKeeper at ${this.url.servers} within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      const onConnected = (): void => {
        timer.cancel();
        resolve();
      };
      this.once('connected', onConnected);
    });
  }

  private startClient(): void {
    const client = new this.Native({
      connect: this.url.servers,
      timeout: this.sessionTimeoutMs,
      debug_level: this.opts.nativeLogLevel ?? 0,
      host_order_deterministic: false,
      // See ZkConnectOptions.responseCounterLimit (the master registry's pieces are up to 1 MB).
      response_counter_limit: this.opts.responseCounterLimit ?? 100_000,
    });
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client || this.closed) return;
      this.lostTimer?.cancel();
      this.lostTimer = undefined;
      this.isConnected = true;
      this.everConnected = true;
      this.logger?.info({ zk: this.url.servers, sessionId: this.sessionId }, 'ZooKeeper session connected');
      this.fire('connected');
    });
    client.on('connecting', () => {
      if (this.client !== client || this.closed || !this.isConnected) return;
      this.isConnected = false;
      this.logger?.warn({ zk: this.url.servers, sessionId: this.sessionId }, 'ZooKeeper connection lost; reconnecting');
      this.fire('disconnected');
      // Nobody tells a client cut off from every server that its session expired: after a
      // session timeout without a connection, consider it expired ourselves.
      this.lostTimer?.cancel();
      this.lostTimer = this.clock.setTimeout(() => {
        this.lostTimer = undefined;
        if (this.client !== client || this.closed || this.isConnected) return;
        this.logger?.warn({ zk: this.url.servers }, 'no ZooKeeper connection for a whole session timeout; treating the session as expired');
        this.replaceClient(client, 'local');
      }, this.sessionTimeoutMs);
    });
    client.on('close', (_client: unknown, code: unknown) => {
      if (this.client !== client || this.closed) return;
      // An unexpected close: the server expired the session, authentication failed, or the
      // native client gave up on an unresponsive server (it reports that as expiry too).
      const reason = code === ZOO_AUTH_FAILED_STATE ? 'auth-failed' : code === ZOO_EXPIRED_SESSION_STATE ? 'expired' : `closed (${String(code)})`;
      this.replaceClient(client, reason);
    });
    client.init({});
    if (this.url.auth) {
      // Stored by the client and sent on every (re)connection of this session.
      const rc = client.add_auth('digest', this.url.auth, (authRc) => {
        if (authRc !== 0) this.logger?.error({ zk: this.url.servers, rc: authRc }, 'ZooKeeper digest authentication failed');
      });
      if (typeof rc === 'number' && rc < 0) this.logger?.error({ rc }, 'ZooKeeper add_auth refused');
    }
    for (const w of this.clientWaiters.splice(0)) w.resolve(client);
  }

  /** Emits a session event; a throwing listener is logged and does not stop the others (or us). */
  private fire(event: ZkSessionEvent): void {
    for (const listener of this.rawListeners(event)) {
      try {
        (listener as () => void).call(this);
      } catch (err) {
        this.logger?.error({ err, event }, 'ZooKeeper session listener threw');
      }
    }
  }

  /** Drops `old` (expired or given up) and opens a new session. */
  private replaceClient(old: NativeClient, reason: string): void {
    if (this.client !== old) return;
    this.client = undefined;
    this.lostTimer?.cancel();
    this.lostTimer = undefined;
    try {
      old.removeAllListeners();
      old.close();
    } catch {
      // already closed natively
    }
    const wasConnected = this.isConnected;
    this.isConnected = false;
    this.logger?.warn({ zk: this.url.servers, reason }, 'ZooKeeper session expired; opening a new session');
    if (wasConnected) this.fire('disconnected');
    if (this.everConnected) this.fire('expired');
    if (this.closed) return;
    // Auth failures would loop at full speed: back off a little.
    this.reopen(reason === 'auth-failed' ? 1000 : 0);
  }

  /** Opens the next session, now or after `delayMs`; retries every second if the client cannot even be created. */
  private reopen(delayMs: number): void {
    const attempt = (): void => {
      this.reopenTimer = undefined;
      if (this.closed) return;
      try {
        this.startClient();
      } catch (err) {
        this.client = undefined;
        this.logger?.error({ err }, 'could not create a ZooKeeper client; retrying');
        this.reopen(1000);
      }
    };
    if (delayMs === 0) attempt();
    else this.reopenTimer = this.clock.setTimeout(attempt, delayMs);
  }

  private async native(op: string, path: string): Promise<NativeClient> {
    if (this.closed) throw new AgoraError('AGORA_ZK_CLOSING', `ZooKeeper ${op} ${path}: the session is closed`);
    if (this.client) return this.client;
    return new Promise<NativeClient>((resolve, reject) => this.clientWaiters.push({ resolve, reject }));
  }

  private async call<T>(op: string, path: string, fn: (c: NativeClient) => Promise<T>): Promise<T> {
    checkPath(path);
    const c = await this.native(op, path);
    try {
      return await fn(c);
    } catch (err) {
      const zkErr = toZkError(err, op, path);
      // The native client closed its handle on its own (it gave the session up): every call
      // on it now fails ("closing", then ZMARSHALLINGERROR) until its 'close' event arrives,
      // which can be several calls later. Replace it now, as that event would.
      if (this.client === c && !this.closed && isDeadHandle(zkErr)) this.replaceClient(c, 'closed by the client library');
      throw zkErr;
    }
  }

  /** Wraps a user watch so that it runs once, only for node events, and never throws into the addon. */
  private watcher(fn: () => void): WatchCb {
    let fired = false;
    return (type) => {
      if (fired || !NODE_EVENT_TYPES.has(type) || this.closed) return;
      fired = true;
      try {
        fn();
      } catch (err) {
        this.logger?.error({ err }, 'ZooKeeper watch callback threw');
      }
    };
  }

  async create(path: string, data: string | Buffer, mode: ZkCreateMode): Promise<string> {
    const flags = CREATE_FLAGS[mode];
    if (flags === undefined) throw new AgoraError('AGORA_ZK_BAD_ARGUMENTS', `unknown create mode '${String(mode)}'`);
    return this.call('create', path, (c) => c.create(path, data, flags));
  }

  async mkdirp(path: string): Promise<void> {
    checkPath(path);
    if (path === '/') return;
    if (await this.exists(path)) return;
    const segments = path.slice(1).split('/');
    let current = '';
    for (const s of segments) {
      current += `/${s}`;
      try {
        await this.create(current, '', 'PERSISTENT');
      } catch (err) {
        if (!isCode(err, 'AGORA_ZK_NODE_EXISTS')) throw err;
      }
    }
  }

  async get(path: string, watch?: () => void): Promise<{ data: Buffer; version: number } | undefined> {
    try {
      const [stat, data] = await this.call('get', path, (c) => (watch ? c.w_get(path, this.watcher(watch)) : c.get(path, false)));
      return { data: data === null || data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(data) ? data : Buffer.from(data), version: stat.version };
    } catch (err) {
      if (isCode(err, 'AGORA_ZK_NO_NODE')) return undefined;
      throw err;
    }
  }

  async set(path: string, data: string | Buffer, version = -1): Promise<number> {
    const stat = await this.call('set', path, (c) => c.set(path, data, version));
    return stat.version;
  }

  async children(path: string, watch?: () => void): Promise<string[]> {
    return this.call('children', path, (c) => (watch ? c.w_get_children(path, this.watcher(watch)) : c.get_children(path, false)));
  }

  async exists(path: string, watch?: () => void): Promise<boolean> {
    try {
      const stat = await this.call('exists', path, (c) => (watch ? c.w_exists(path, this.watcher(watch)) : c.exists(path, false)));
      return Boolean(stat);
    } catch (err) {
      if (isCode(err, 'AGORA_ZK_NO_NODE')) return false;
      throw err;
    }
  }

  async delete(path: string, version = -1): Promise<void> {
    try {
      await this.call('delete', path, (c) => c.delete_(path, version));
    } catch (err) {
      if (!isCode(err, 'AGORA_ZK_NO_NODE')) throw err;
    }
  }

  async deleteRecursive(path: string): Promise<void> {
    checkPath(path);
    if (path === '/') throw new AgoraError('AGORA_ZK_BAD_ARGUMENTS', 'refusing to delete /');
    for (let attempt = 0; ; attempt++) {
      let kids: string[];
      try {
        kids = await this.children(path);
      } catch (err) {
        if (isCode(err, 'AGORA_ZK_NO_NODE')) return;
        throw err;
      }
      for (const k of kids) await this.deleteRecursive(`${path}/${k}`);
      try {
        await this.delete(path);
        return;
      } catch (err) {
        // Someone added a child meanwhile: go again (bounded).
        if (!isCode(err, 'AGORA_ZK_NOT_EMPTY') || attempt >= 5) throw err;
      }
    }
  }

  override on(event: ZkSessionEvent, fn: () => void): this {
    return super.on(event, fn);
  }

  override off(event: ZkSessionEvent, fn: () => void): this {
    return super.off(event, fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lostTimer?.cancel();
    this.reopenTimer?.cancel();
    const client = this.client;
    this.client = undefined;
    const wasConnected = this.isConnected;
    this.isConnected = false;
    if (client) {
      try {
        client.removeAllListeners();
        client.close();
      } catch {
        // already closed
      }
    }
    for (const w of this.clientWaiters.splice(0)) w.reject(new AgoraError('AGORA_ZK_CLOSING', 'the ZooKeeper session was closed'));
    if (wasConnected) this.fire('disconnected');
    this.logger?.debug({ zk: redact(`zk://${this.url.servers}${this.url.path}`) }, 'ZooKeeper session closed');
  }
}
