/**
 * The machine's raw process-spawn rate from Node: `/bin/true` started with
 * `child_process.spawn` and waited for, `count` times with at most `inFlight` at once. The
 * ceiling the full launch path (slave → executor → task) is measured against.
 *
 * @module
 */
import { spawn } from 'node:child_process';
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
