/**
 * The slave's checkpoint (Mesos `slave/state.cpp`): what a restarted slave needs to
 * re-attach to the executors of its previous run. Pure: the format, its encoding and a
 * validating decoder. Reading and writing the file is `checkpoint-store.ts`; deciding what
 * to do with a checkpoint is `recovery-plan.ts`.
 *
 * One JSON document, `<workDir>/meta/checkpoint.json`:
 * `{format, version, boot_id, agent_id?, port, written_at, journal?, frameworks[], status_updates[]}`,
 * the *snapshot*, and the changes made since it in `checkpoint.journal` (checkpoint-journal.ts)
 * when `journal` names one.
 * Each framework holds its FrameworkInfo and its live executors (ExecutorInfo, kind,
 * container id, sandbox, pid with its `/proc` start time, tasks with their latest state and
 * phase, the queue of launches not yet delivered); `status_updates` holds every
 * unacknowledged update per task stream, in order, with the uuids the stream has seen.
 * Completed executors, tasks and frameworks are not kept (the file stays bounded).
 *
 * @module
 */
import { z } from 'zod';
import { StatusUpdate } from '../sdk/protocol/agent.js';
import { ExecutorInfo, FrameworkInfo, KillPolicy, TaskInfo, TaskState, safeParseJson } from '../sdk/protocol/mesos.js';

/** The `format` field: anything else is not ours. */
export const CHECKPOINT_FORMAT = 'agora-slave-checkpoint';
/**
 * The version this code writes: 2, a snapshot that may name a journal. It also reads 1 (the
 * same document without a journal, written before issue 6 round 12). A checkpoint of another
 * version starts the slave clean.
 */
export const CHECKPOINT_VERSION = 2;
/** The versions this code reads. */
const READABLE_VERSIONS: readonly unknown[] = [1, CHECKPOINT_VERSION];
/** How many seen uuids a stream keeps in the checkpoint (to drop executor retransmissions after a restart). */
export const MAX_CHECKPOINTED_UUIDS = 100;

const CheckpointedTask = z.object({
  info: TaskInfo,
  state: TaskState,
  phase: z.enum(['queued', 'launched', 'terminated']),
});
export type CheckpointedTask = z.infer<typeof CheckpointedTask>;

const CheckpointedQueueEntry = z.union([
  z.object({ kind: z.literal('task'), taskId: z.string() }),
  z.object({ kind: z.literal('group'), taskIds: z.array(z.string()) }),
]);

const CheckpointedExecutor = z.object({
  info: ExecutorInfo,
  kind: z.enum(['command', 'default', 'custom']),
  container_id: z.string().min(1),
  directory: z.string().min(1),
  /** Absent while the process was not started yet. */
  pid: z.number().int().positive().optional(),
  /** `/proc/<pid>/stat` field 22 (clock ticks after boot) when the process started: tells a reused pid apart. */
  pid_start_time: z.number().nonnegative().optional(),
  /** True once it subscribed at least once. */
  subscribed: z.boolean(),
  /** Told to shut down (its tasks are on their way out). */
  terminating: z.boolean(),
  /** Replaced in the framework's executors by a fresh run of the same id (model.ts `retiring`). */
  retiring: z.boolean(),
  started_at: z.number(),
  tasks: z.array(CheckpointedTask),
  queue: z.array(CheckpointedQueueEntry),
  pending_kills: z.array(z.object({ taskId: z.string(), killPolicy: KillPolicy.optional() })),
});
export type CheckpointedExecutor = z.infer<typeof CheckpointedExecutor>;

const CheckpointedFramework = z.object({
  info: FrameworkInfo,
  terminating: z.boolean(),
  executors: z.array(CheckpointedExecutor),
});
export type CheckpointedFramework = z.infer<typeof CheckpointedFramework>;

const CheckpointedStream = z.object({
  framework_id: z.string().min(1),
  task_id: z.string().min(1),
  pending: z.array(StatusUpdate),
  seen_uuids: z.array(z.string()),
  terminated: z.boolean(),
});
export type CheckpointedStream = z.infer<typeof CheckpointedStream>;

const Checkpoint = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.union([z.literal(1), z.literal(CHECKPOINT_VERSION)]),
  /** `/proc/sys/kernel/random/boot_id` when written; '' where the host has none. */
  boot_id: z.string(),
  /** The id the master gave; absent until the first registration. */
  agent_id: z.string().min(1).optional(),
  /** The HTTP port executors were told (MESOS_AGENT_ENDPOINT). */
  port: z.number().int().min(0).max(65535),
  /** The `ip:port` executors were told. */
  endpoint: z.string(),
  written_at: z.number(),
  /**
   * The id of the journal that holds the changes made after this snapshot
   * (checkpoint-journal.ts): its first line names it. Absent: no journal applies.
   */
  journal: z.string().min(1).optional(),
  frameworks: z.array(CheckpointedFramework),
  status_updates: z.array(CheckpointedStream),
});
export type Checkpoint = z.infer<typeof Checkpoint>;

/** The result of {@link decodeCheckpoint}. */
export type DecodedCheckpoint = { ok: true; checkpoint: Checkpoint } | { ok: false; reason: string };

/**
 * JSON of objects that never change once the slave holds them (TaskInfo, ExecutorInfo,
 * FrameworkInfo, accepted status updates), by identity. Every write encodes every live task
 * (a snapshot whole, a journal line to compare: checkpoint-journal.ts); re-encoding each
 * TaskInfo every time was most of a write's CPU.
 */
const encodedParts = new WeakMap<object, string>();

/** `JSON.stringify(value)`, encoded once per object (see {@link encodedParts}). @internal */
export function cachedJson(value: object): string {
  let json = encodedParts.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    encodedParts.set(value, json);
  }
  return json;
}

/**
 * `{"key":value,…}` in the object's own key order, as `JSON.stringify` writes it (undefined
 * values left out), with `parts[key]` encoding the fields that have a faster way.
 */
export function encodeObject<T extends object>(o: T, parts: { [K in keyof T]?: (v: NonNullable<T[K]>) => string } = {}): string {
  let out = '{';
  for (const key of Object.keys(o) as (keyof T & string)[]) {
    const value = o[key];
    if (value === undefined) continue;
    const part = parts[key];
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${part !== undefined ? part(value as NonNullable<T[typeof key]>) : JSON.stringify(value)}`;
  }
  return `${out}}`;
}

const encodeArray = <T>(items: readonly T[], each: (item: T) => string): string => `[${items.map(each).join(',')}]`;

/** A task's last encoding, by its TaskInfo: most writes find most tasks in the same state and phase. */
const encodedTasks = new WeakMap<object, { state: string; phase: string; json: string }>();

function encodeTask(t: CheckpointedTask): string {
  const last = encodedTasks.get(t.info);
  if (last !== undefined && last.state === t.state && last.phase === t.phase) return last.json;
  const json = encodeObject(t, { info: cachedJson });
  encodedTasks.set(t.info, { state: t.state, phase: t.phase, json });
  return json;
}
const encodeExecutor = (e: CheckpointedExecutor): string => encodeObject(e, { info: cachedJson, tasks: (ts) => encodeArray(ts, encodeTask) });
const encodeFramework = (f: CheckpointedFramework): string => encodeObject(f, { info: cachedJson, executors: (es) => encodeArray(es, encodeExecutor) });
/** A status update stream's JSON (its updates' from {@link cachedJson}). @internal */
export const encodeStream = (s: CheckpointedStream): string => encodeObject(s, { pending: (ps) => encodeArray(ps, cachedJson) });

/**
 * Serialises a checkpoint (compact JSON; a snapshot). The same text as
 * `JSON.stringify(c)`, but the parts that never change (see {@link encodedParts}) are
 * encoded once: the objects in a checkpoint must not be mutated after it was built.
 */
export function encodeCheckpoint(c: Checkpoint): string {
  return encodeObject(c, {
    frameworks: (fs) => encodeArray(fs, encodeFramework),
    status_updates: (ss) => encodeArray(ss, encodeStream),
  });
}

/** Parses and validates a checkpoint; never throws. The reason says what is wrong, for the log. */
export function decodeCheckpoint(text: string): DecodedCheckpoint {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'not a JSON object' };
  const head = json as { format?: unknown; version?: unknown };
  if (head.format !== CHECKPOINT_FORMAT) return { ok: false, reason: `unknown format ${JSON.stringify(head.format)}` };
  if (!READABLE_VERSIONS.includes(head.version)) return { ok: false, reason: `unsupported version ${JSON.stringify(head.version)} (this slave reads versions ${READABLE_VERSIONS.join(' and ')})` };
  return validateCheckpoint(json);
}

/** Validates a parsed checkpoint document (a snapshot, or one rebuilt from a snapshot and its journal). */
export function validateCheckpoint(json: unknown): DecodedCheckpoint {
  const parsed = safeParseJson(Checkpoint, json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `invalid checkpoint: ${issue === undefined ? 'unknown error' : `${issue.path.join('.')}: ${issue.message}`}` };
  }
  return { ok: true, checkpoint: parsed.data };
}
