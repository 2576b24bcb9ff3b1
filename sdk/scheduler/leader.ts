/**
 * Leader detection for clients of the master (the scheduler SDK and the slave): which
 * master to talk to, given what a {@link LeaderDetector} reports.
 *
 * A ZooKeeper detector (`zk://host:2181/agora`) reports the leading master's MasterInfo
 * JSON, read from the lowest `<path>/json.info_<seq>` znode (Mesos's own layout); a
 * {@link StaticDetector} reports the configured `host:port`. {@link leaderAddress} turns
 * either into an address, purely. {@link openZkLeaderDetector} is the I/O: it loads
 * sdk/zk (and the native ZooKeeper client) lazily, only when a `zk://` URL is given.
 *
 * @module
 */
import type { Logger } from 'pino';
import { AgoraError } from '../core/errors.js';
import type { LeaderDetector } from '../core/leadership.js';
import type { MasterAddress } from './options.js';

/** The master's default port (options.ts's DEFAULT_MASTER_PORT; not imported, options.ts imports this module). */
const DEFAULT_MASTER_PORT = 5050;

/** True for `zk://…` master URLs (leader detection through ZooKeeper). */
export function isZkUrl(master: string): boolean {
  return /^zk:\/\//i.test(master.trim());
}

/**
 * Checks the shape of a `zk://[user:pass@]host:port[,host:port…]/path` URL (the full parse
 * is sdk/zk's `parseZkUrl`, loaded lazily). Returns an error message, or undefined when it
 * looks right.
 *
 * @example
 * zkUrlProblem('zk://127.0.0.1:2181/agora') // undefined
 * zkUrlProblem('zk://127.0.0.1:2181')       // 'zk://127.0.0.1:2181: a zk:// URL needs a path, e.g. zk://host:2181/agora'
 */
export function zkUrlProblem(url: string): string | undefined {
  const m = /^zk:\/\/(?:[^@/]*@)?([^/]*)(\/.*)?$/i.exec(url.trim());
  if (m === null) return `${url}: not a zk:// URL`;
  const hosts = m[1]!;
  const path = m[2];
  if (hosts === '' || hosts.split(',').some((h) => !/^(\[[0-9a-f:]+\]|[^:\s[\]]+)(:\d{1,5})?$/i.test(h))) {
    return `${url}: expected zk://host:port[,host:port…]/path`;
  }
  if (path === undefined || path === '/' || /\/\/|\/$|\s/.test(path)) return `${url}: a zk:// URL needs a path, e.g. zk://host:2181/agora`;
  return undefined;
}

/** The URL with any `user:pass@` credentials masked, for logs and messages. */
export function redactMasterUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@');
}

interface MasterInfoLike {
  ip?: unknown;
  port?: unknown;
  hostname?: unknown;
  pid?: unknown;
  address?: { ip?: unknown; hostname?: unknown; port?: unknown };
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';
const validPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65535;

/**
 * The master a detector's leader data points at, or undefined when there is no leader or
 * the data is unusable. MasterInfo JSON (ZooKeeper): `address.ip`, else `address.hostname`,
 * else `hostname`, else the host of `pid` (`master@ip:port`); port `address.port`, else
 * `port`. Anything else is read as `host:port` / `http://host:port` (a static master).
 *
 * @example
 * leaderAddress('{"id":"m1","ip":0,"port":5050,"address":{"ip":"10.0.0.5","port":5050}}') // { protocol: 'http:', host: '10.0.0.5', port: 5050 }
 * leaderAddress('127.0.0.1:5050')  // { protocol: 'http:', host: '127.0.0.1', port: 5050 }
 * leaderAddress(undefined)          // undefined
 */
export function leaderAddress(data: string | undefined): MasterAddress | undefined {
  if (data === undefined) return undefined;
  const text = data.trim();
  if (text === '') return undefined;
  if (text.startsWith('{')) {
    let info: MasterInfoLike;
    try {
      info = JSON.parse(text) as MasterInfoLike;
    } catch {
      return undefined;
    }
    if (info === null || typeof info !== 'object') return undefined;
    const pid = nonEmpty(info.pid) ? /@(.+):(\d+)$/.exec(info.pid) : null;
    const host = [info.address?.ip, info.address?.hostname, info.hostname, pid?.[1]].find(nonEmpty);
    const port = [info.address?.port, info.port, pid ? Number(pid[2]) : undefined].find(validPort);
    if (host === undefined || port === undefined) return undefined;
    return { protocol: 'http:', host: host.replace(/^\[(.*)\]$/, '$1'), port };
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: globalThis.URL;
  try {
    url = new globalThis.URL(withScheme);
  } catch {
    return undefined;
  }
  const protocol = url.protocol === 'https:' ? 'https:' : url.protocol === 'http:' || url.protocol === 'ws:' ? 'http:' : undefined;
  if (protocol === undefined || url.hostname === '') return undefined;
  return { protocol, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? DEFAULT_MASTER_PORT : Number(url.port) };
}

/** Two addresses name the same master. */
export function sameMaster(a: MasterAddress | undefined, b: MasterAddress | undefined): boolean {
  return a !== undefined && b !== undefined && a.host === b.host && a.port === b.port && a.protocol === b.protocol;
}

/** `host:port` of an address (IPv6 hosts bracketed). */
export function formatMasterAddress(a: MasterAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** A started ZooKeeper leader detector and how to release it. */
export interface OpenedDetector {
  detector: LeaderDetector;
  /** Stops the detector and closes its ZooKeeper session. Idempotent. */
  close(): Promise<void>;
}

/** Error code: the ZooKeeper ensemble of a `zk://` master could not be used. */
export const LEADER_DETECTION_FAILED = 'AGORA_LEADER_DETECTION_FAILED';

/**
 * Connects to ZooKeeper and starts following the masters' election under the URL's path
 * (`json.info_<seq>` znodes). Loads sdk/zk, and through it the native client, only now.
 *
 * @throws AgoraError `AGORA_LEADER_DETECTION_FAILED` when ZooKeeper cannot be reached.
 * @example
 * const { detector, close } = await openZkLeaderDetector('zk://127.0.0.1:2181/agora', { logger });
 * console.log(leaderAddress(detector.current()));
 */
export async function openZkLeaderDetector(url: string, o: { logger?: Logger; sessionTimeoutMs?: number; connectTimeoutMs?: number } = {}): Promise<OpenedDetector> {
  const zk = await import('../zk/index.js');
  const parsed = zk.parseZkUrl(url);
  let session: Awaited<ReturnType<typeof zk.connectZk>>;
  try {
    session = await zk.connectZk(parsed, {
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
      ...(o.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: o.sessionTimeoutMs } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    });
  } catch (err) {
    throw new AgoraError(LEADER_DETECTION_FAILED, `cannot connect to ZooKeeper at ${parsed.servers}: ${(err as Error).message}`, { cause: err });
  }
  const detector = zk.createZkDetector(session, parsed.path, o.logger !== undefined ? { logger: o.logger } : {});
  try {
    await detector.start();
  } catch (err) {
    await session.close().catch(() => undefined);
    throw new AgoraError(LEADER_DETECTION_FAILED, `cannot follow the masters under ${parsed.path} on ${parsed.servers}: ${(err as Error).message}`, { cause: err });
  }
  let closing: Promise<void> | undefined;
  return {
    detector,
    close: () => {
      closing ??= (async () => {
        await detector.stop().catch(() => undefined);
        await session.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}
