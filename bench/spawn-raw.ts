/**
 * The machine's raw process-spawn rate from Node: `/bin/true` started with
 * `child_process.spawn` and waited for, N times, with 1 and with C in flight. This is the
 * ceiling for `bench/throughput` (which starts every task as a real process through a slave
 * and an executor): issue 6 asks the full path for at least 90 % of it.
 *
 *   node dist/bench/spawn-raw.js [--count 300] [--concurrency 8]
 *
 * Prints one JSON line (spawns/s per concurrency). Bounded: at most `count` spawns per
 * setting and 60 s in all.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '8' } } });
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const deadline = Date.now() + 60_000;

function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
}

/** Spawns `count` processes with at most `inFlight` at once; returns spawns per second. */
async function rate(inFlight: number): Promise<{ spawns: number; per_s: number }> {
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
  return { spawns: done, per_s: Math.round((done / seconds) * 10) / 10 };
}

const sequential = await rate(1);
const parallel = await rate(concurrency);
console.log(JSON.stringify({
  bench: 'spawn-raw',
  command: '/bin/true',
  sequential,
  [`concurrency_${concurrency}`]: parallel,
  cpus: os.cpus().length,
  load_average: os.loadavg().map((x) => Math.round(x * 100) / 100),
}));
