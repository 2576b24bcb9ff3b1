/**
 * The `/files` endpoints (Mesos `files/files.cpp`): browse, read and download inside the
 * slave's sandboxes only. A requested path is resolved with `realpath` and must land inside
 * `realpath(<workDir>/slaves)`; anything else — `..` escapes, symlinks pointing out,
 * missing files — is answered 404 "File not found", as Mesos answers for paths it has not
 * attached.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { slavesDir } from './paths.js';

/** Largest `length` one `/files/read` returns (Mesos caps at 16 pages; UIs page anyway). */
export const MAX_READ_BYTES = 16 * 1024 * 1024;

/** A `/files/browse` entry (Mesos `FileInfo` JSON model). */
export interface FileEntry {
  path: string;
  nlink: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** `ls -l` style: `-rw-r--r--`, `drwxr-xr-x`. */
  mode: string;
  uid: string;
  gid: string;
}

export type FilesResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 404; message: string };

const notFound = { ok: false as const, status: 404 as const, message: 'File not found' };
const bad = (message: string) => ({ ok: false as const, status: 400 as const, message });

/** `ls -l` mode string of a stat mode. Pure. */
export function modeString(mode: number): string {
  const type = (mode & 0o170000) === 0o040000 ? 'd'
    : (mode & 0o170000) === 0o120000 ? 'l'
    : (mode & 0o170000) === 0o010000 ? 'p'
    : (mode & 0o170000) === 0o140000 ? 's'
    : (mode & 0o170000) === 0o060000 ? 'b'
    : (mode & 0o170000) === 0o020000 ? 'c' : '-';
  const bit = (m: number, c: string): string => ((mode & m) !== 0 ? c : '-');
  let s = type
    + bit(0o400, 'r') + bit(0o200, 'w') + bit(0o100, 'x')
    + bit(0o040, 'r') + bit(0o020, 'w') + bit(0o010, 'x')
    + bit(0o004, 'r') + bit(0o002, 'w') + bit(0o001, 'x');
  const set = (i: number, on: boolean, exec: boolean, upper: string, lower: string): void => {
    if (on) s = s.slice(0, i) + (exec ? lower : upper) + s.slice(i + 1);
  };
  set(3, (mode & 0o4000) !== 0, (mode & 0o100) !== 0, 'S', 's');
  set(6, (mode & 0o2000) !== 0, (mode & 0o010) !== 0, 'S', 's');
  set(9, (mode & 0o1000) !== 0, (mode & 0o001) !== 0, 'T', 't');
  return s;
}

/** Parses an integer query parameter: undefined when absent, NaN when not an integer. */
function intParam(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v.trim())) return NaN;
  return Number(v);
}

/** Sandbox file access, confined to `<workDir>/slaves`. */
export class SandboxFiles {
  private readonly root: string;
  private users: Map<number, string> | undefined;
  private groups: Map<number, string> | undefined;

  constructor(workDir: string) {
    this.root = slavesDir(workDir);
  }

  /** Resolves a requested path to a real path inside the sandbox root, or 404. */
  async resolve(requested: unknown): Promise<FilesResult<{ real: string; stat: fs.Stats }>> {
    if (typeof requested !== 'string' || requested === '') return bad("Expecting 'path=value' in query.");
    if (requested.includes('\0')) return notFound;
    let root: string;
    let real: string;
    try {
      root = await fs.promises.realpath(this.root);
      real = await fs.promises.realpath(path.resolve(root, requested));
    } catch {
      return notFound;
    }
    if (real !== root && !real.startsWith(root + path.sep)) return notFound;
    try {
      return { ok: true, value: { real, stat: await fs.promises.stat(real) } };
    } catch {
      return notFound;
    }
  }

  /** `/files/browse`: the entries of a directory, or the file itself for a file. */
  async browse(requested: unknown): Promise<FilesResult<FileEntry[]>> {
    const r = await this.resolve(requested);
    if (!r.ok) return r;
    const shown = path.resolve(this.root, String(requested));
    if (!r.value.stat.isDirectory()) return { ok: true, value: [this.entry(shown, r.value.stat)] };
    const out: FileEntry[] = [];
    for (const name of (await fs.promises.readdir(r.value.real)).sort()) {
      try {
        out.push(this.entry(path.join(shown, name), await fs.promises.lstat(path.join(r.value.real, name))));
      } catch {
        // removed while listing
      }
    }
    return { ok: true, value: out };
  }

  /**
   * `/files/read` with Mesos semantics: no offset (or -1) → `{data: "", offset: size}`;
   * offset at or past the end → empty data; length defaults to the rest of the file,
   * capped at {@link MAX_READ_BYTES}. Directories are refused with 400.
   */
  async read(requested: unknown, offsetParam: unknown, lengthParam: unknown): Promise<FilesResult<{ data: string; offset: number }>> {
    const offset = intParam(offsetParam) ?? -1;
    const length = intParam(lengthParam) ?? -1;
    if (Number.isNaN(offset)) return bad(`Failed to parse offset: ${String(offsetParam)}`);
    if (Number.isNaN(length)) return bad(`Failed to parse length: ${String(lengthParam)}`);
    if (offset < -1) return bad(`Negative offset provided: ${offset}`);
    if (length < -1) return bad(`Negative length provided: ${length}`);
    const r = await this.resolve(requested);
    if (!r.ok) return r;
    if (r.value.stat.isDirectory()) return bad('Cannot read a directory');
    const size = r.value.stat.size;
    if (offset === -1) return { ok: true, value: { data: '', offset: size } };
    if (offset >= size) return { ok: true, value: { data: '', offset } };
    const want = Math.min(length === -1 ? size - offset : length, size - offset, MAX_READ_BYTES);
    const fh = await fs.promises.open(r.value.real, 'r');
    try {
      const buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, offset);
      return { ok: true, value: { data: buf.subarray(0, bytesRead).toString('utf8'), offset } };
    } finally {
      await fh.close();
    }
  }

  /** `/files/download`: the real path of a regular file to stream. */
  async download(requested: unknown): Promise<FilesResult<{ real: string; size: number; name: string }>> {
    const r = await this.resolve(requested);
    if (!r.ok) return r;
    if (r.value.stat.isDirectory()) return bad('Cannot download a directory');
    return { ok: true, value: { real: r.value.real, size: r.value.stat.size, name: path.basename(r.value.real) } };
  }

  private entry(shownPath: string, st: fs.Stats): FileEntry {
    return {
      path: shownPath,
      nlink: st.nlink,
      size: st.size,
      mtime: Math.floor(st.mtimeMs / 1000),
      mode: modeString(st.mode),
      uid: this.userName(st.uid),
      gid: this.groupName(st.gid),
    };
  }

  private userName(uid: number): string {
    this.users ??= readIdFile('/etc/passwd');
    return this.users.get(uid) ?? String(uid);
  }

  private groupName(gid: number): string {
    this.groups ??= readIdFile('/etc/group');
    return this.groups.get(gid) ?? String(gid);
  }
}

/** Parses `name:x:id:…` lines of /etc/passwd or /etc/group. */
function readIdFile(file: string): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id) && !out.has(Number(id))) out.set(Number(id), name);
    }
  } catch {
    // no such file: numeric ids
  }
  return out;
}
