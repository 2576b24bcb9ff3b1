/**
 * What a figure was measured on: the machine (cores, CPU model, memory, Node), its load
 * (os.loadavg at the start and end of the run: a loaded machine explains a slow figure) and
 * the git commit of the code measured, and the file system a bench's work dir is on.
 * Everything here tolerates its source missing (no git checkout, no /proc) and says
 * `unknown` instead.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { round } from './stats.js';

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  mem_gb: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    mem_gb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** The 1, 5 and 15-minute load averages, rounded. */
export function loadAverage(): number[] {
  return os.loadavg().map((x) => round(x, 2));
}

/** `git rev-parse --short HEAD` of `cwd` (the checkout measured), `-dirty` when it has local changes; `unknown` without git. */
export function gitCommit(cwd: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    let dirty = false;
    try {
      dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
    } catch {
      // status unavailable: report the commit alone
    }
    return commit === '' ? 'unknown' : `${commit}${dirty ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** statfs magic numbers of the file systems a work dir is likely on (linux/magic.h). */
const FILESYSTEMS = new Map<number, string>([
  [0xef53, 'ext2/3/4'],
  [0x01021994, 'tmpfs'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x794c7630, 'overlayfs'],
  [0x6969, 'nfs'],
]);

/**
 * The file system `dir` is on (`ext2/3/4`, `tmpfs`, …, else its statfs magic in hex, or
 * `unknown`). Benches whose path writes files (task sandboxes, fsynced checkpoints) record
 * it: on this machine the same code starts tasks half again as fast on tmpfs as on its ext4.
 */
export function filesystemType(dir: string): string {
  try {
    const type = Number(fs.statfsSync(dir).type);
    return FILESYSTEMS.get(type) ?? `0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}
