/**
 * The Mesos fetcher (src/launcher/fetcher.cpp): puts each `CommandInfo.URI` into a sandbox
 * before the command runs.
 *
 * - `value`: an absolute path, a `file://` URL or an `http(s)://` URL (redirects followed,
 *   non-2xx refused).
 * - Destination: `output_file` (relative to the sandbox, which it must not leave) or the
 *   basename of the value.
 * - `executable: true` → the file gets mode 0755 and is not extracted (as in Mesos).
 * - Otherwise, with `extract` (default true), `.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tbz2`,
 *   `.tar.xz`, `.txz` and `.zip` are extracted into the sandbox; the archive stays beside
 *   them. An archive with an entry that would land outside the sandbox is refused whole.
 * - `cache` is accepted and ignored (no fetcher cache).
 *
 * Every failure is `AgoraError('AGORA_FETCH_FAILED', …, { cause })`.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type AdmZip from 'adm-zip';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../sdk/core/clock.js';
import { AgoraError } from '../sdk/core/errors.js';
import { silentLogger } from '../sdk/core/log.js';
import type { CommandURI } from '../sdk/protocol/mesos.js';

const execFileAsync = promisify(execFile);

/**
 * The archive libraries, loaded on the first extraction: every command executor imports
 * this module, and most never extract anything (loading adm-zip and node-tar up front cost
 * each executor ~5 MB of resident memory).
 */
const loadTar = (): Promise<typeof import('tar')> => import('tar');
const loadAdmZip = async (): Promise<typeof AdmZip> => (await import('adm-zip')).default;

/** Default bound on fetching one URI (download and extraction). */
export const DEFAULT_FETCH_TIMEOUT_MS = 5 * 60_000;

export interface FetchOptions {
  logger?: Logger;
  /** Bound on each HTTP download; default {@link DEFAULT_FETCH_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Clock for the download timeout; default the system clock. */
  clock?: Clock;
}

/** The archive kinds the fetcher extracts, by file-name suffix. */
export type ArchiveKind = 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'zip';

/** Which archive kind a file name denotes, if any (pure). */
export function archiveKind(fileName: string): ArchiveKind | undefined {
  const name = fileName.toLowerCase();
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar.gz';
  if (name.endsWith('.tar.bz2') || name.endsWith('.tbz2')) return 'tar.bz2';
  if (name.endsWith('.tar.xz') || name.endsWith('.txz')) return 'tar.xz';
  if (name.endsWith('.tar')) return 'tar';
  if (name.endsWith('.zip')) return 'zip';
  return undefined;
}

/** Where a URI comes from (pure). */
export type UriSource = { kind: 'file'; path: string } | { kind: 'http'; url: string };

/** Classifies a URI value; throws `AGORA_FETCH_FAILED` for an unsupported one (pure). */
export function uriSource(value: string): UriSource {
  if (/^https?:\/\//i.test(value)) return { kind: 'http', url: value };
  if (/^file:\/\//i.test(value)) {
    try {
      return { kind: 'file', path: fileURLToPath(value) };
    } catch (err) {
      throw new AgoraError('AGORA_FETCH_FAILED', `invalid file URL ${JSON.stringify(value)}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (path.isAbsolute(value)) return { kind: 'file', path: value };
  throw new AgoraError('AGORA_FETCH_FAILED', `unsupported URI ${JSON.stringify(value)}: expected an absolute path, a file:// URL or an http(s):// URL`);
}

/**
 * Absolute destination of a URI inside the sandbox (pure). Throws `AGORA_FETCH_FAILED`
 * when `output_file` would leave the sandbox or no file name can be derived.
 */
export function destinationPath(uri: CommandURI, sandboxDir: string): string {
  const sandbox = path.resolve(sandboxDir);
  let name: string;
  if (uri.output_file !== undefined && uri.output_file !== '') {
    name = uri.output_file;
  } else {
    const source = uriSource(uri.value);
    let pathname = source.kind === 'http' ? safeUrlPath(source.url) : source.path;
    pathname = pathname.replace(/\/+$/, '');
    name = path.posix.basename(pathname);
    if (name === '' || name === '.' || name === '..') {
      throw new AgoraError('AGORA_FETCH_FAILED', `cannot derive a file name from ${JSON.stringify(uri.value)}; set output_file`);
    }
  }
  const dest = path.resolve(sandbox, name);
  if (!isInside(sandbox, dest) || dest === sandbox) {
    throw new AgoraError('AGORA_FETCH_FAILED', `output file ${JSON.stringify(name)} is outside the sandbox`);
  }
  return dest;
}

/** True when `candidate` is `dir` or below it (both absolute, resolved). */
export function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(dir, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function safeUrlPath(url: string): string {
  try {
    return decodeURIComponent(new globalThis.URL(url).pathname);
  } catch (err) {
    throw new AgoraError('AGORA_FETCH_FAILED', `invalid URL ${JSON.stringify(url)}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Fetches every URI into `sandboxDir`, in order; the first failure stops and rejects.
 *
 * @example
 * ```ts
 * await fetchUris([
 *   { value: 'https://example.com/app.tar.gz' },            // downloaded and extracted
 *   { value: '/opt/tools/run.sh', executable: true },          // copied, chmod 0755
 *   { value: 'file:///data/conf.zip', extract: false, output_file: 'conf/bundle.zip' },
 * ], sandboxDir, { timeoutMs: 60_000 });
 * ```
 */
export async function fetchUris(uris: readonly CommandURI[], sandboxDir: string, opts: FetchOptions = {}): Promise<void> {
  const logger = opts.logger ?? silentLogger();
  for (const uri of uris) {
    try {
      await fetchOne(uri, sandboxDir, opts, logger);
    } catch (err) {
      if (err instanceof AgoraError && err.code === 'AGORA_FETCH_FAILED') throw err;
      throw new AgoraError('AGORA_FETCH_FAILED', `failed to fetch ${JSON.stringify(uri.value)}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }
}

async function fetchOne(uri: CommandURI, sandboxDir: string, opts: FetchOptions, logger: Logger): Promise<void> {
  const sandbox = path.resolve(sandboxDir);
  const source = uriSource(uri.value);
  const dest = destinationPath(uri, sandbox);
  await mkdir(path.dirname(dest), { recursive: true });
  logger.info({ uri: uri.value, dest }, 'fetching URI');
  if (source.kind === 'http') {
    await download(source.url, dest, opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, opts.clock ?? systemClock);
  } else {
    const info = await stat(source.path).catch((err: NodeJS.ErrnoException) => {
      throw new AgoraError('AGORA_FETCH_FAILED', `failed to fetch ${JSON.stringify(uri.value)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: err });
    });
    if (!info.isFile()) throw new AgoraError('AGORA_FETCH_FAILED', `failed to fetch ${JSON.stringify(uri.value)}: not a regular file`);
    await copyFile(source.path, dest);
  }
  if (uri.executable === true) {
    await chmod(dest, 0o755);
    return;
  }
  const kind = archiveKind(path.basename(dest));
  if (uri.extract !== false && kind !== undefined) {
    logger.info({ archive: dest, kind }, 'extracting archive');
    await extract(dest, kind, sandbox);
  }
}

async function download(url: string, dest: string, timeoutMs: number, clock: Clock): Promise<void> {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => controller.abort(new AgoraError('AGORA_FETCH_FAILED', `download of ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow', signal: controller.signal });
    } catch (err) {
      throw new AgoraError('AGORA_FETCH_FAILED', `failed to download ${url}: ${describeFetchError(err, controller)}`, { cause: err });
    }
    if (!res.ok || res.body === null) {
      await res.body?.cancel().catch(() => undefined);
      throw new AgoraError('AGORA_FETCH_FAILED', `failed to download ${url}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    try {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(dest));
    } catch (err) {
      await rm(dest, { force: true });
      throw new AgoraError('AGORA_FETCH_FAILED', `failed to download ${url}: ${describeFetchError(err, controller)}`, { cause: err });
    }
  } finally {
    timer.cancel();
  }
}

function describeFetchError(err: unknown, controller: AbortController): string {
  if (controller.signal.aborted && controller.signal.reason instanceof Error) return controller.signal.reason.message;
  const e = err as Error & { cause?: Error };
  return e.cause?.message ? `${e.message} (${e.cause.message})` : e.message;
}

async function extract(archive: string, kind: ArchiveKind, sandbox: string): Promise<void> {
  if (kind === 'zip') return extractZip(archive, sandbox);
  const entries = await listTar(archive, kind);
  checkEntries(entries, sandbox, archive);
  if (kind === 'tar' || kind === 'tar.gz') {
    const tar = await loadTar();
    await tar.x({ file: archive, cwd: sandbox, strict: true, preservePaths: false, noChmod: false });
  } else {
    // node-tar has no bzip2/xz; GNU tar does, and refuses `..` members by itself too.
    await execFileAsync('tar', ['-x', kind === 'tar.bz2' ? '-j' : '-J', '--no-same-owner', '-f', archive, '-C', sandbox]);
  }
}

async function listTar(archive: string, kind: ArchiveKind): Promise<string[]> {
  if (kind === 'tar' || kind === 'tar.gz') {
    const names: string[] = [];
    const tar = await loadTar();
    await tar.t({ file: archive, strict: true, onReadEntry: (entry) => names.push(entry.path) });
    return names;
  }
  const { stdout } = await execFileAsync('tar', ['-t', kind === 'tar.bz2' ? '-j' : '-J', '-f', archive], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((line) => line !== '');
}

function checkEntries(names: readonly string[], sandbox: string, archive: string): void {
  for (const name of names) {
    if (path.isAbsolute(name) || !isInside(sandbox, path.resolve(sandbox, name))) {
      throw new AgoraError('AGORA_FETCH_FAILED', `archive ${path.basename(archive)} has an entry outside the sandbox: ${JSON.stringify(name)}`);
    }
  }
}

async function extractZip(archive: string, sandbox: string): Promise<void> {
  const Zip = await loadAdmZip();
  let zip: AdmZip;
  try {
    zip = new Zip(archive);
  } catch (err) {
    throw new AgoraError('AGORA_FETCH_FAILED', `cannot read zip archive ${path.basename(archive)}: ${(err as Error).message}`, { cause: err });
  }
  checkEntries(zip.getEntries().map((e) => e.entryName), sandbox, archive);
  await new Promise<void>((resolve, reject) => {
    zip.extractAllToAsync(sandbox, true, true, (err) => (err ? reject(err) : resolve()));
  });
}
