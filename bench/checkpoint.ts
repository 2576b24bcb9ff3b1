/**
 * `checkpoint` (a micro-benchmark, not in `agora bench all`): what one group commit of the
 * slave's checkpoint costs as the live tasks grow, written as a whole snapshot each time (as
 * every write was before issue 6 round 12) against the snapshot + journal writer the slave
 * uses now (slave/checkpoint-writer.ts: a journal line per write, a new snapshot when the
 * journal has grown as large as the snapshot). Each write follows 20 status updates: 20
 * tasks change state and their update streams each get an update.
 *
 *   node dist/bench/checkpoint.js [--quick] [--json]
 *
 * Figures per live task count (200, 1,000, 5,000; quick: 200, 1,000): per write, the bytes
 * handed to the disk, the wall time (the writer thread's fsyncs included) and the CPU of
 * this process (all threads), each the median of the two ways' alternating rounds. Files go
 * to a temp dir under `os.tmpdir()` (`TMPDIR`; `params.work_dir_fs` names its file system).
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AtomicFileWriter } from '../slave/atomic-writer.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, encodeCheckpoint, type Checkpoint, type CheckpointedStream, type CheckpointedTask } from '../slave/checkpoint.js';
import { checkpointPath } from '../slave/checkpoint-store.js';
import { CheckpointWriter } from '../slave/checkpoint-writer.js';
import type { StatusUpdate } from '../sdk/protocol/agent.js';
import { filesystemType } from './lib/environment.js';
import { runBench } from './lib/run.js';
import { median, round } from './lib/stats.js';

const UPDATES_PER_WRITE = 20;
const ROUNDS = 3;

const FRAMEWORK = { id: { value: '655a71a8-8eb2-4398-a8de-e09310f4d3f4-0000' }, user: 'root', name: 'bench-checkpoint' };
const AGENT = '655a71a8-8eb2-4398-a8de-e09310f4d3f4-S0';

/** A slave with `n` tasks in one command executor, each with an update stream; `step()` applies one group commit's updates. */
class LiveTasks {
  private readonly tasks: CheckpointedTask[];
  private readonly streams: CheckpointedStream[];
  private seq = 0;

  constructor(n: number) {
    this.tasks = Array.from({ length: n }, (_, i) => ({
      info: {
        name: `app.instance-${i}`, task_id: { value: `app.instance-${i}-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9` }, agent_id: { value: AGENT },
        resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 32 } }, { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000 + i, end: 31000 + i }] } }],
        command: { value: 'exec ./server --port $PORT0', environment: { variables: [{ name: 'MARATHON_APP_ID', value: '/app' }, { name: 'MARATHON_APP_VERSION', value: '2026-11-27T05:00:00.000Z' }] } },
      },
      state: 'TASK_RUNNING', phase: 'launched',
    }));
    this.streams = this.tasks.map((t) => ({ framework_id: FRAMEWORK.id.value, task_id: t.info.task_id.value, pending: [], seen_uuids: [], terminated: false }));
  }

  /** Tasks whose state changes, and their updates, as 20 status updates would. */
  step(): void {
    for (let k = 0; k < UPDATES_PER_WRITE; k++) {
      const i = this.seq++ % this.tasks.length;
      const task = this.tasks[i]!;
      const state = task.state === 'TASK_RUNNING' ? 'TASK_STARTING' : 'TASK_RUNNING';
      this.tasks[i] = { ...task, state };
      const uuid = `${String(this.seq).padStart(22, '0')}==`;
      const update: StatusUpdate = { framework_id: FRAMEWORK.id, status: { task_id: task.info.task_id, state, uuid, source: 'SOURCE_EXECUTOR', timestamp: 1_800_000_000 + this.seq / 1000 } };
      const s = this.streams[i]!;
      // The previous update was acknowledged; this one is pending.
      this.streams[i] = { ...s, pending: [update], seen_uuids: [...s.seen_uuids, uuid].slice(-100) };
    }
  }

  checkpoint(): Checkpoint {
    return {
      format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, boot_id: 'bench', agent_id: AGENT, port: 5051, endpoint: '127.0.0.1:5051', written_at: this.seq,
      frameworks: [{
        info: FRAMEWORK, terminating: false,
        executors: [{
          info: { executor_id: { value: 'agora-command-executor' }, framework_id: FRAMEWORK.id, command: { value: '/usr/bin/node', shell: false } },
          kind: 'command', container_id: 'c-bench', directory: '/var/lib/agora/slaves/S0/frameworks/F/executors/e/runs/c-bench', pid: 4242, pid_start_time: 1,
          subscribed: true, terminating: false, retiring: false, started_at: 0, tasks: [...this.tasks], queue: [], pending_kills: [],
        }],
      }],
      status_updates: [...this.streams],
    };
  }
}

interface Round { bytes: number; wallMs: number; cpuMs: number }

/** The atomic writer, counting the bytes handed to it. */
class CountingFiles {
  bytes = 0;

  constructor(private readonly files: AtomicFileWriter) {}

  write(file: string, data: string): Promise<void> {
    this.bytes += Buffer.byteLength(data);
    return this.files.write(file, data);
  }

  append(file: string, data: string): Promise<void> {
    this.bytes += Buffer.byteLength(data);
    return this.files.append(file, data);
  }
}

/** `writes` group commits of `live`, each written by `write` through `files`; per-write averages. */
async function measure(live: LiveTasks, writes: number, files: CountingFiles, write: (c: Checkpoint) => Promise<void>): Promise<Round> {
  files.bytes = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < writes; i++) {
    live.step();
    await write(live.checkpoint());
  }
  const used = process.cpuUsage(cpu);
  return { bytes: files.bytes / writes, wallMs: (performance.now() - start) / writes, cpuMs: (used.user + used.system) / 1000 / writes };
}

await runBench({
  name: 'checkpoint',
  budgetMs: { quick: 60_000, full: 240_000 },
  targets: [],
  anchor: 'Mesos checkpoints a file per task and appends each status update to a per-task log',
  async run(ctx) {
    const sizes = ctx.quick ? [200, 1_000] : [200, 1_000, 5_000];
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-bench-checkpoint-'));
    const files = new AtomicFileWriter();
    const counted = new CountingFiles(files);
    try {
      const cells = [];
      for (const n of sizes) {
        ctx.note(`${n} live tasks`);
        const writes = Math.max(20, Math.round(40_000 / n));
        const live = new LiveTasks(n);
        const whole: Round[] = [];
        const journaled: Round[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          whole.push(await measure(live, writes, counted, (c) => counted.write(checkpointPath(workDir), encodeCheckpoint(c))));
          const writer = new CheckpointWriter(workDir, counted);
          await writer.write(live.checkpoint()); // its first snapshot, not counted
          journaled.push(await measure(live, writes, counted, async (c) => { await writer.write(c); }));
        }
        const summary = (rounds: Round[]) => ({
          bytes_per_write: Math.round(median(rounds.map((x) => x.bytes))),
          wall_ms_per_write: round(median(rounds.map((x) => x.wallMs))),
          cpu_ms_per_write: round(median(rounds.map((x) => x.cpuMs))),
        });
        cells.push({ live_tasks: n, writes_per_round: writes, snapshot_each_write: summary(whole), snapshot_and_journal: summary(journaled) });
      }
      return {
        params: { sizes, updates_per_write: UPDATES_PER_WRITE, rounds: ROUNDS, work_dir_fs: filesystemType(workDir) },
        figures: { cells },
      };
    } finally {
      files.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  },
});
