/**
 * A reproducible sequence of slave checkpoints, as a slave's would go: frameworks come and go,
 * executors start (a pid) and retire, tasks are queued, launched, change state and end,
 * status update streams grow and are acknowledged. Step `n` of a seed is always the same
 * document, so a process that wrote the sequence can be checked by another that rebuilds it.
 * Like the slave's `build()`, each step is a fresh document that reuses the TaskInfo,
 * ExecutorInfo, FrameworkInfo and update objects of the tasks that live on.
 */
import type { StatusUpdate } from '../../sdk/protocol/agent.js';
import type { TaskInfo, TaskState } from '../../sdk/protocol/mesos.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint, type CheckpointedExecutor, type CheckpointedFramework } from '../../slave/checkpoint.js';
import { seededRandom } from '../../slave/sim/prng.js';

interface Task { info: TaskInfo; state: TaskState; phase: 'queued' | 'launched' | 'terminated' }
interface Executor { fixed: Omit<CheckpointedExecutor, 'tasks' | 'pid' | 'subscribed' | 'queue'>; pid?: number; tasks: Map<string, Task> }
interface Framework { info: CheckpointedFramework['info']; terminating: boolean; executors: Map<string, Executor> }
interface Stream { frameworkId: string; taskId: string; pending: StatusUpdate[]; seen: string[]; terminated: boolean }

const STATES: TaskState[] = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED', 'TASK_FAILED'];

/** The checkpoints of one seed: `next()` moves one step and returns the new document. */
export class CheckpointSequence {
  private readonly random: () => number;
  private readonly frameworks = new Map<string, Framework>();
  private readonly streams = new Map<string, Stream>();
  private n = 0;
  private agentId = 'A-S0';

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  private pick<T>(items: Iterable<T>): T | undefined {
    const all = [...items];
    return all.length === 0 ? undefined : all[Math.floor(this.random() * all.length)];
  }

  /** One random change (a few, now and then), then the document. */
  next(): Checkpoint {
    const changes = this.random() < 0.2 ? 1 + Math.floor(this.random() * 6) : 1;
    for (let i = 0; i < changes; i++) this.change();
    return this.build();
  }

  private change(): void {
    const n = ++this.n;
    const r = this.random();
    const framework = this.pick(this.frameworks.values());
    const executor = framework === undefined ? undefined : this.pick(framework.executors.values());
    const task = executor === undefined ? undefined : this.pick(executor.tasks.values());
    if (framework === undefined || r < 0.04) {
      const id = `fw-${n}`;
      this.frameworks.set(id, { info: { id: { value: id }, user: 'u', name: `framework ${n}` }, terminating: false, executors: new Map() });
    } else if (r < 0.06) {
      this.frameworks.delete(framework.info.id!.value);
    } else if (r < 0.08) {
      framework.terminating = true;
    } else if (executor === undefined || r < 0.14) {
      const containerId = `c-${n}`;
      framework.executors.set(containerId, {
        fixed: {
          info: { executor_id: { value: `e-${n}` }, framework_id: framework.info.id!, command: { value: '/usr/bin/node', shell: false } },
          kind: 'command', container_id: containerId, directory: `/w/${containerId}`, terminating: false, retiring: false, started_at: n,
          pending_kills: [],
        },
        tasks: new Map(),
      });
    } else if (r < 0.17) {
      executor.pid = 1000 + n;
    } else if (r < 0.19) {
      framework.executors.delete(executor.fixed.container_id);
    } else if (task === undefined || r < 0.45) {
      const id = `t-${n}`;
      executor.tasks.set(id, { info: { name: id, task_id: { value: id }, agent_id: { value: this.agentId }, command: { value: `sleep ${n}` } }, state: 'TASK_STAGING', phase: 'queued' });
    } else if (r < 0.75) {
      task.state = this.pick(STATES)!;
      task.phase = task.state === 'TASK_FINISHED' || task.state === 'TASK_FAILED' ? 'terminated' : 'launched';
      this.update(framework.info.id!.value, task.info.task_id.value, task.state, n);
    } else if (r < 0.85) {
      executor.tasks.delete(task.info.task_id.value);
    } else if (r < 0.97) {
      const stream = this.pick(this.streams.values());
      if (stream !== undefined) {
        stream.pending = stream.pending.slice(1); // acknowledged
        if (stream.pending.length === 0 && stream.terminated) this.streams.delete(`${stream.frameworkId}/${stream.taskId}`);
      }
    } else if (r < 0.98) {
      this.agentId = `A-S${n}`;
    } else {
      // A burst: many tasks at once (a large journal line).
      for (let i = 0; i < 40; i++) {
        const id = `t-${n}-${i}`;
        executor.tasks.set(id, { info: { name: id, task_id: { value: id }, agent_id: { value: this.agentId }, command: { value: 'true' } }, state: 'TASK_STAGING', phase: 'queued' });
      }
    }
  }

  private update(frameworkId: string, taskId: string, state: TaskState, n: number): void {
    const key = `${frameworkId}/${taskId}`;
    const stream = this.streams.get(key) ?? { frameworkId, taskId, pending: [], seen: [], terminated: false };
    const uuid = `u-${n}`;
    stream.pending = [...stream.pending, { framework_id: { value: frameworkId }, status: { task_id: { value: taskId }, state, uuid, source: 'SOURCE_EXECUTOR' } }];
    stream.seen = [...stream.seen, uuid].slice(-100);
    stream.terminated ||= state === 'TASK_FINISHED' || state === 'TASK_FAILED';
    this.streams.set(key, stream);
  }

  private build(): Checkpoint {
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      boot_id: 'boot',
      agent_id: this.agentId,
      port: 5051,
      endpoint: '127.0.0.1:5051',
      written_at: this.n,
      frameworks: [...this.frameworks.values()].map((f) => ({
        info: f.info,
        terminating: f.terminating,
        executors: [...f.executors.values()].map((e) => ({
          ...e.fixed,
          ...(e.pid !== undefined ? { pid: e.pid } : {}),
          subscribed: e.pid !== undefined,
          tasks: [...e.tasks.values()].map((t) => ({ info: t.info, state: t.state, phase: t.phase })),
          queue: [...e.tasks.values()].filter((t) => t.phase === 'queued').map((t) => ({ kind: 'task' as const, taskId: t.info.task_id.value })),
        })),
      })),
      status_updates: [...this.streams.values()].map((s) => ({ framework_id: s.frameworkId, task_id: s.taskId, pending: [...s.pending], seen_uuids: [...s.seen], terminated: s.terminated })),
    };
  }
}

/** `c` with its arrays in a canonical order and without the journal id, to compare states (order carries no meaning). */
export function normalizedCheckpoint(c: Checkpoint): unknown {
  const byKey = <T>(key: (x: T) => string) => (a: T, b: T): number => key(a).localeCompare(key(b));
  const { journal: _journal, ...rest } = c;
  return {
    ...rest,
    frameworks: [...c.frameworks].sort(byKey((f) => f.info.id?.value ?? '')).map((f) => ({
      ...f,
      executors: [...f.executors].sort(byKey((e) => e.container_id)).map((e) => ({ ...e, tasks: [...e.tasks].sort(byKey((x) => x.info.task_id.value)) })),
    })),
    status_updates: [...c.status_updates].sort(byKey((s) => `${s.framework_id}/${s.task_id}`)),
  };
}
