/**
 * Small pieces every `agora` subcommand shares: option parsers for commander (they throw
 * commander's InvalidArgumentError so the user sees "error: option '--x <dur>' argument
 * '…' is invalid. …"), the package version, and graceful shutdown on SIGINT/SIGTERM.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../sdk/core/duration.js';

/** The directory holding Agora's package.json (works from the sources and from dist/). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('cannot find package.json above ' + fileURLToPath(import.meta.url));
}

/** Agora's version, from package.json. */
export function agoraVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** The compiled CLI entry point (`dist/bin/agora.js`), for commands that spawn more `agora` processes. */
export function agoraScript(): string {
  return fileURLToPath(new URL('./agora.js', import.meta.url));
}

/** commander parser: a duration (`15s`, `500ms`, `2mins`) → milliseconds. */
export function durationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** commander parser: a TCP port, 0 meaning "the OS picks". */
export function portOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

/** commander parser: an integer ≥ `min`. */
export function intOption(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return n;
  };
}

/** commander parser: a positive number (cpus, mem). */
export function positiveNumberOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** commander parser: `host:port` (a leading `http://` is tolerated). Refuses `zk://` until the HA issue lands. */
export function masterAddressOption(value: string): string {
  if (value.startsWith('zk://')) throw new InvalidArgumentError('ZooKeeper mode is not available yet');
  const stripped = value.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!/^[^:\s/]+:\d{1,5}$/.test(stripped)) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:5050');
  return stripped;
}

/**
 * commander parser for a master that may be elected: `host:port` (as {@link masterAddressOption})
 * or `zk://[user:pass@]host:port[,host:port…]/path` (leader detection through ZooKeeper).
 */
export function masterOrZkOption(value: string): string {
  if (!/^zk:\/\//i.test(value.trim())) return masterAddressOption(value);
  const url = value.trim();
  if (!/^zk:\/\/(?:[^@/]*@)?[^/\s]+\/[^\s]*[^/\s]$/i.test(url)) throw new InvalidArgumentError('expected zk://HOST:PORT[,HOST:PORT…]/PATH, e.g. zk://127.0.0.1:2181/agora');
  return url;
}

/** commander collector for repeatable options (`--env A=1 --env B=2`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Runs `close` on the first SIGINT or SIGTERM, then exits 0 (1 if closing failed or took
 * longer than `forceAfterMs`). Later signals while closing are ignored, so that a Ctrl-C
 * delivered to a whole process group and a parent's SIGTERM arriving together do not
 * interrupt the clean shutdown. With `exitWithParent`, the end of stdin (a pipe from the
 * parent, as `agora local` sets up) counts as a signal too: the child stops cleanly when
 * its parent dies, even by SIGKILL.
 */
export function exitOnSignal(
  close: () => Promise<void>,
  opts: { forceAfterMs?: number; log?: (msg: string) => void; exitWithParent?: boolean } = {},
): void {
  let closing = false;
  const stop = (why: string): void => {
    if (closing) return;
    closing = true;
    opts.log?.(`${why}, shutting down`);
    const force = setTimeout(() => {
      opts.log?.('shutdown took too long, exiting');
      process.exit(1);
    }, opts.forceAfterMs ?? 30_000);
    force.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error while shutting down: ${(err as Error)?.stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('received SIGINT'));
  process.on('SIGTERM', () => stop('received SIGTERM'));
  if (opts.exitWithParent) {
    process.stdin.on('end', () => stop('parent closed stdin'));
    process.stdin.on('error', () => stop('parent closed stdin'));
    process.stdin.resume();
  }
}

/** Prints `message` on stderr and exits 1 (for errors the user can fix: bad flags, ports in use). */
export function die(message: string): never {
  process.stderr.write(`agora: ${message}\n`);
  process.exit(1);
}
