/**
 * A real ZooKeeper server for tests: the Debian package's `zookeeper.jar` (installed by
 * `scripts/ensure-zookeeper.mjs`, which `npm test` runs first), started standalone on a
 * free loopback port with a temporary data dir, torn down with the test.
 *
 * The server is killed when the test process exits, and a small watchdog kills it if the
 * test process dies without exiting cleanly (tap timeout, SIGKILL).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fourLetterWord, freeLoopbackPort, waitForZooKeeper, ZOOKEEPER_JAR, ZOOKEEPER_MISSING, zooCfg, zookeeperJavaArgs,
} from '../../bin/zookeeper-server.js';

export { fourLetterWord, freeLoopbackPort, ZOOKEEPER_JAR };

/** The minimum session timeout the test server grants (ms); ask for at least this much. */
export const TEST_ZK_MIN_SESSION_TIMEOUT_MS = 1000;

/** The part of a tap Test this helper uses. */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

/** A running test ZooKeeper server. */
export interface TestZooKeeper {
  port: number;
  /** `127.0.0.1:<port>`. */
  connectString: string;
  /** `zk://127.0.0.1:<port><path>`; `path` must start with `/`. */
  url(path: string): string;
  /** The Java server's PID. */
  pid: number;
  /** Freezes the server (SIGSTOP): clients lose their connection but the server keeps its state. */
  pause(): void;
  /** Unfreezes the server (SIGCONT). */
  resume(): void;
  /** Asks the server `srvr` (four-letter command) and returns its answer. */
  srvr(timeoutMs?: number): Promise<string>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its data dir. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

/** Kills `pid` if this (the test) process disappears before it stopped the server. */
function spawnWatchdog(pid: number): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -9 ${pid} 2>/dev/null; exit 0`;
  const dog = spawn('/bin/sh', ['-c', script], { stdio: 'ignore', detached: true });
  dog.unref();
  return dog;
}

/**
 * Starts a ZooKeeper server for the test `t` (stopped by `t.teardown`).
 *
 * @example
 * const zk = await startZooKeeper(t);
 * const session = await connectZk(zk.url('/agora'));
 */
export async function startZooKeeper(t: TeardownHost, opts: { startTimeoutMs?: number } = {}): Promise<TestZooKeeper> {
  if (!existsSync(ZOOKEEPER_JAR)) throw new Error(ZOOKEEPER_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'agora-zk-'));
  const dataDir = join(dir, 'data');
  const cfg = join(dir, 'zoo.cfg');
  const logFile = join(dir, 'zookeeper.log');
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;

  // Another process may take the port between probing and binding: try a few ports.
  for (let attempt = 0; ; attempt++) {
    const port = await freeLoopbackPort();
    writeFileSync(cfg, zooCfg({ dataDir, port, minSessionTimeoutMs: TEST_ZK_MIN_SESSION_TIMEOUT_MS, noSync: true }));
    const logFd = openSync(logFile, 'w');
    const child = spawn('java', zookeeperJavaArgs(cfg), { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    const pid = child.pid;
    if (pid === undefined) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error('could not start java (is a JRE installed? Debian: apt-get install default-jre-headless)');
    }
    installExitHook();
    live.add(pid);
    const watchdog = spawnWatchdog(pid);
    let exited = false;
    const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      exited = true;
      live.delete(pid);
    });

    const kill = async (): Promise<void> => {
      if (!exited) {
        try {
          process.kill(pid, 'SIGCONT');
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone
        }
        const killer = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }, 5000);
        await exitedPromise;
        clearTimeout(killer);
      }
      try {
        if (watchdog.pid !== undefined) process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // gone
      }
    };
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    };

    const ready = await waitForZooKeeper(port, startTimeoutMs, () => exited);
    if (ready) {
      t.teardown(stop);
      const connectString = `127.0.0.1:${port}`;
      return {
        port,
        connectString,
        pid,
        url: (path: string) => `zk://${connectString}${path.startsWith('/') ? path : `/${path}`}`,
        pause: () => process.kill(pid, 'SIGSTOP'),
        resume: () => process.kill(pid, 'SIGCONT'),
        srvr: (timeoutMs = 1000) => fourLetterWord(port, 'srvr', timeoutMs),
        stop,
      };
    }
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const portTaken = /Address already in use|BindException/.test(log);
    await kill();
    if (portTaken && attempt < 3) continue;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`ZooKeeper did not start within ${startTimeoutMs} ms on port ${port}; its log:\n${log.slice(-4000)}`);
  }
}

/**
 * Expires a session from outside, the classic way: a second client attaches to the same
 * session (id and password) and closes it, which ends the session on the server; the first
 * client learns it has expired when it next talks to the server. The first client may win
 * its session back before the close arrives, so this repeats until a fresh attach is told
 * "expired" (bounded).
 */
export async function expireZkSession(session: object, zk: Pick<TestZooKeeper, 'connectString'>, maxAttempts = 50): Promise<void> {
  const withCredentials = session as { credentials?: () => { sessionId: string; password: string } };
  if (typeof withCredentials.credentials !== 'function') throw new Error('expireZkSession needs a session from connectZk (NativeZkSession)');
  const { sessionId, password } = withCredentials.credentials();
  const mod = (await import('zookeeper')) as unknown as { default?: unknown };
  const ZooKeeper = (mod.default ?? mod) as new (cfg: object) => {
    init(cfg: object): unknown;
    on(event: string, fn: (client: unknown, code?: unknown) => void): void;
    close(): void;
  };
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const twin = new ZooKeeper({ connect: zk.connectString, timeout: 10_000, debug_level: 0, client_id: sessionId, client_password: password });
    const outcome = await new Promise<'attached' | 'expired' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 10_000);
      twin.on('connect', () => {
        clearTimeout(timer);
        resolve('attached');
      });
      twin.on('close', (_client, code) => {
        clearTimeout(timer);
        resolve(code === -112 ? 'expired' : 'timeout');
      });
      twin.init({});
    });
    if (outcome === 'expired') return;
    twin.close();
    if (outcome === 'timeout') throw new Error(`could not attach to ZooKeeper session ${sessionId}`);
  }
  throw new Error(`ZooKeeper session ${sessionId} did not expire after ${maxAttempts} attempts`);
}

/** A TCP proxy in front of a test ZooKeeper, to cut one client's connection (a partition). */
export interface TestZkProxy {
  port: number;
  /** `127.0.0.1:<proxy port>`. */
  connectString: string;
  /** `zk://127.0.0.1:<proxy port><path>`. */
  url(path: string): string;
  /** Drops every proxied connection and refuses new ones until {@link restore}. */
  cut(): void;
  /** Accepts and forwards connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `zk` (closed by `t.teardown`). Clients given its URL can be partitioned from ZooKeeper. */
export async function startZkProxy(t: TeardownHost, zk: Pick<TestZooKeeper, 'port'>): Promise<TestZkProxy> {
  const sockets = new Set<import('node:net').Socket>();
  let isCut = false;
  const server = createServer((downstream) => {
    if (isCut) {
      downstream.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: zk.port });
    sockets.add(downstream);
    sockets.add(upstream);
    const drop = (): void => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(downstream);
      sockets.delete(upstream);
    };
    downstream.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const connectString = `127.0.0.1:${port}`;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return {
    port,
    connectString,
    url: (path: string) => `zk://${connectString}${path.startsWith('/') ? path : `/${path}`}`,
    cut: () => {
      isCut = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore: () => {
      isCut = false;
    },
    close,
  };
}
