/**
 * Resources of the machine a slave runs on, computed like Mesos'
 * `Containerizer::resources` when `--resources` does not say otherwise.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Resource } from '../protocol/mesos.js';
import { rangesResource, scalarResource } from './parse.js';

const MB = 1024 * 1024;

/** What the host reports; injectable so the arithmetic is testable without this machine. */
export interface HostProbe {
  cpus: number;
  totalMemBytes: number;
  freeDiskBytes: number;
}

/** Reads cpus, total memory and free disk of the filesystem holding `workDir` (or its nearest existing parent). */
export function probeHost(workDir: string): HostProbe {
  let dir = path.resolve(workDir);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const st = fs.statfsSync(dir);
  return {
    cpus: os.cpus().length || os.availableParallelism(),
    totalMemBytes: os.totalmem(),
    freeDiskBytes: Number(st.bavail) * Number(st.bsize),
  };
}

/**
 * The slave's default resources, as Mesos computes them: `cpus` = number of CPUs; `mem` =
 * total MB minus min(1024, half) left for the OS; `disk` = free MB of the work dir's
 * filesystem minus min(5120, half); `ports:[31000-32000]`. Values are whole MB.
 *
 * @param probe overrides what is read from the host (tests).
 */
export function detectHostResources(workDir: string, probe: HostProbe = probeHost(workDir)): Resource[] {
  const memMb = Math.floor(probe.totalMemBytes / MB);
  const diskMb = Math.floor(probe.freeDiskBytes / MB);
  const mem = memMb - Math.min(1024, Math.floor(memMb / 2));
  const disk = diskMb - Math.min(5120, Math.floor(diskMb / 2));
  const out: Resource[] = [scalarResource('cpus', Math.max(1, probe.cpus))];
  if (mem > 0) out.push(scalarResource('mem', mem));
  if (disk > 0) out.push(scalarResource('disk', disk));
  out.push(rangesResource('ports', [{ begin: 31000, end: 32000 }]));
  return out;
}
