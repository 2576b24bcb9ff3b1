/**
 * `zk://` URLs, as Mesos takes them: `zk://[user:pass@]host1[:port],host2[:port]/path`.
 * Pure; no ZooKeeper client is loaded here.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';

/** A parsed `zk://` URL. */
export interface ZkUrl {
  /** Comma-separated `host:port` list, as the ZooKeeper client takes it, e.g. `'h1:2181,h2:2181'`. */
  servers: string;
  /**
   * The base path (e.g. `'/agora'`; `'/'` when the URL has none). Not applied as a chroot:
   * callers build full paths from it.
   */
  path: string;
  /** `'user:pass'` for digest authentication, when the URL has credentials. */
  auth?: string;
}

/** The port used when a host has none (ZooKeeper's client port). */
export const DEFAULT_ZK_PORT = 2181;

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

function invalid(url: string, why: string): AgoraError {
  return new AgoraError('AGORA_ZK_URL_INVALID', `invalid ZooKeeper URL '${redact(url)}': ${why} (expected zk://[user:pass@]host[:port][,host[:port]…]/path)`);
}

/** The URL with its password replaced by `***`, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/^(zk:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/**
 * Parses a `zk://` URL.
 *
 * @throws AgoraError `AGORA_ZK_URL_INVALID` for anything else (wrong scheme, no host, bad port,
 *   bad credentials, a path with empty, `.` or `..` segments or a trailing slash).
 * @example
 * parseZkUrl('zk://u:p@h1:2181,h2/agora') // { servers: 'h1:2181,h2:2181', path: '/agora', auth: 'u:p' }
 */
export function parseZkUrl(url: string): ZkUrl {
  if (typeof url !== 'string') throw invalid(String(url), 'not a string');
  if (!url.startsWith('zk://')) throw invalid(url, "the scheme must be 'zk://'");
  const rest = url.slice('zk://'.length);
  if (/\s/.test(rest)) throw invalid(url, 'it contains whitespace');
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const rawPath = slash < 0 ? '/' : rest.slice(slash);

  let hostList = authority;
  let auth: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    auth = authority.slice(0, at);
    hostList = authority.slice(at + 1);
    const colon = auth.indexOf(':');
    if (colon <= 0 || colon === auth.length - 1) throw invalid(url, "credentials must be 'user:password'");
  }
  if (hostList === '') throw invalid(url, 'no host');

  const servers = hostList.split(',').map((entry) => parseHost(url, entry));
  const path = normalisePath(url, rawPath);
  return auth === undefined ? { servers: servers.join(','), path } : { servers: servers.join(','), path, auth };
}

function parseHost(url: string, entry: string): string {
  if (entry === '') throw invalid(url, 'empty host in the host list');
  let host: string;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) throw invalid(url, `unterminated IPv6 address '${entry}'`);
    host = entry.slice(1, close);
    if (!IPV6.test(host)) throw invalid(url, `bad IPv6 address '${host}'`);
    const after = entry.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw invalid(url, `bad host '${entry}'`);
      portText = after.slice(1);
    }
    host = `[${host}]`;
  } else {
    const colon = entry.indexOf(':');
    host = colon < 0 ? entry : entry.slice(0, colon);
    portText = colon < 0 ? undefined : entry.slice(colon + 1);
    if (!HOST_NAME.test(host)) throw invalid(url, `bad host name '${host}'`);
  }
  let port = DEFAULT_ZK_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw invalid(url, `bad port '${portText}'`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw invalid(url, `port ${port} out of range`);
  }
  return `${host}:${port}`;
}

function normalisePath(url: string, path: string): string {
  if (path === '/') return '/';
  if (path.endsWith('/')) throw invalid(url, 'the path must not end with /');
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') throw invalid(url, 'the path has an empty segment');
    if (segment === '.' || segment === '..') throw invalid(url, `the path must not contain '${segment}'`);
    if (/[\u0000-\u001f\u007f]/.test(segment)) throw invalid(url, 'the path contains control characters');
  }
  return path;
}

/** Joins a base path and relative segments into a ZooKeeper path (`joinZkPath('/', 'a')` → `/a`). */
export function joinZkPath(base: string, ...segments: string[]): string {
  let out = base === '/' ? '' : base.replace(/\/+$/, '');
  for (const s of segments) {
    const trimmed = s.replace(/^\/+|\/+$/g, '');
    if (trimmed !== '') out += `/${trimmed}`;
  }
  return out === '' ? '/' : out;
}
