/**
 * The machine's raw process-spawn rate from Node: `/bin/true` started with
 * `child_process.spawn` and waited for, `count` times with at most `inFlight` at once. The
 * ceiling the full launch path (slave → executor → task) is measured against; and the same
 * for a task-shaped spawn (sandbox directory and output files), for context.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { round } from './stats.js';

function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
}

/** Spawns up to `count` processes, `inFlight` at once, until `deadline` (epoch ms); spawns per second. */
export async function rawSpawnRate(count: number, inFlight: number, deadline: number): Promise<{ spawns: number; per_s: number }> {
  let started = 0;
  let done = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (started < count && Date.now() < deadline) {
      started++;
      await spawnTrue();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { spawns: done, per_s: seconds > 0 ? round(done / seconds, 1) : 0 };
}

/**
 * A task's minimum without Agora: its own sandbox directory, `stdout` and `stderr` files
 * created in it, and `sh -c true` run there with its output going to them (what a Mesos
 * command task's process costs, none of the cluster around it).
 */
async function spawnTaskShaped(sandbox: string): Promise<void> {
  await fs.mkdir(sandbox, { recursive: true });
  const out = await fs.open(path.join(sandbox, 'stdout'), 'w');
  const err = await fs.open(path.join(sandbox, 'stderr'), 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', 'true'], { cwd: sandbox, stdio: ['ignore', out.fd, err.fd] });
      child.once('error', reject);
      child.once('exit', () => resolve());
    });
  } finally {
    await Promise.all([out.close(), err.close()]);
  }
}

/** {@link rawSpawnRate} of task-shaped spawns (sandbox dir and output files under `dir`). */
export async function rawTaskSpawnRate(count: number, inFlight: number, deadline: number, dir: string): Promise<{ spawns: number; per_s: number }> {
  let started = 0;
  let done = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (started < count && Date.now() < deadline) {
      const sandbox = path.join(dir, `raw-task-${started++}`);
      await spawnTaskShaped(sandbox);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { spawns: done, per_s: seconds > 0 ? round(done / seconds, 1) : 0 };
}
