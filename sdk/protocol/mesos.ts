/**
 * Mesos v1 message types shared by the scheduler and executor APIs (JSON encoding).
 *
 * Field names, enum strings and nesting follow mesos/include/mesos/v1/mesos.proto, so the
 * JSON a Mesos HTTP client sends parses here unchanged. Each schema is a zod object: it
 * validates at the boundary and strips fields we do not know (protobuf's JSON parser in
 * Mesos ignores unknown fields too). `null` in optional or repeated fields is removed by
 * {@link stripNulls} before validation, so schemas only need `.optional()`.
 *
 * @module
 */
import { z } from 'zod';
import { AgoraError } from '../core/errors.js';
import { FALLBACK, fastParser } from './fast-parse.js';

/** `{ "value": "…" }` identifiers (FrameworkID, OfferID, AgentID, TaskID, ExecutorID, …). */
export const Id = z.object({ value: z.string().min(1) });
export type Id = z.infer<typeof Id>;
export const FrameworkID = Id;
export type FrameworkID = Id;
export const OfferID = Id;
export type OfferID = Id;
export const AgentID = Id;
export type AgentID = Id;
export const TaskID = Id;
export type TaskID = Id;
export const ExecutorID = Id;
export type ExecutorID = Id;

/** Durations are `{ nanoseconds: int64 }`; JSON int64 may arrive as a number or a string. */
export const DurationInfo = z.object({ nanoseconds: z.union([z.number(), z.string().regex(/^-?\d+$/).transform(Number)]) });
export type DurationInfo = z.infer<typeof DurationInfo>;
export const TimeInfo = DurationInfo;
export type TimeInfo = DurationInfo;

export const Label = z.object({ key: z.string(), value: z.string().optional() });
export type Label = z.infer<typeof Label>;
export const Labels = z.object({ labels: z.array(Label).optional() });
export type Labels = z.infer<typeof Labels>;

export const ValueType = z.enum(['SCALAR', 'RANGES', 'SET', 'TEXT']);
export type ValueType = z.infer<typeof ValueType>;
export const Scalar = z.object({ value: z.number().finite() });
/** uint64 as protobuf's JSON mapping allows it: a number or a decimal string. */
const UInt64 = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,16}$/).transform(Number)]);
export const Range = z.object({ begin: UInt64, end: UInt64 });
export type Range = z.infer<typeof Range>;
export const Ranges = z.object({ range: z.array(Range).optional() });
export const ValueSet = z.object({ item: z.array(z.string()).optional() });
export const Text = z.object({ value: z.string() });

export const ReservationInfo = z.object({
  type: z.enum(['UNKNOWN', 'STATIC', 'DYNAMIC']).optional(),
  role: z.string().optional(),
  principal: z.string().optional(),
  labels: Labels.optional(),
});
export type ReservationInfo = z.infer<typeof ReservationInfo>;

export const AllocationInfo = z.object({ role: z.string().optional() });
export type AllocationInfo = z.infer<typeof AllocationInfo>;

/** A resource: `cpus`, `mem`, `disk`, `gpus` are scalars, `ports` ranges, custom ones any type. */
export const Resource = z.object({
  name: z.string().min(1),
  type: ValueType,
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  /** Deprecated pre-1.x role field; `*` when unreserved. */
  role: z.string().optional(),
  allocation_info: AllocationInfo.optional(),
  reservation: ReservationInfo.optional(),
  reservations: z.array(ReservationInfo).optional(),
  disk: z.record(z.string(), z.unknown()).optional(),
  revocable: z.object({}).optional(),
  shared: z.object({}).optional(),
  provider_id: Id.optional(),
});
export type Resource = z.infer<typeof Resource>;

export const Attribute = z.object({
  name: z.string().min(1),
  type: ValueType,
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  text: Text.optional(),
});
export type Attribute = z.infer<typeof Attribute>;

export const Address = z.object({
  hostname: z.string().optional(),
  ip: z.string().optional(),
  port: z.number().int(),
});
export type Address = z.infer<typeof Address>;

export const URL = z.object({
  scheme: z.string(),
  address: Address,
  path: z.string().optional(),
  query: z.array(z.object({ key: z.string(), value: z.string().optional() })).optional(),
  fragment: z.string().optional(),
});
export type URL = z.infer<typeof URL>;

export const MasterInfo = z.object({
  id: z.string(),
  /** IPv4 address packed in network order into a uint32, as Mesos does. */
  ip: z.number().int(),
  port: z.number().int(),
  pid: z.string().optional(),
  hostname: z.string().optional(),
  version: z.string().optional(),
  address: Address.optional(),
  capabilities: z.array(z.object({ type: z.string() })).optional(),
});
export type MasterInfo = z.infer<typeof MasterInfo>;

export const AgentInfo = z.object({
  hostname: z.string(),
  port: z.number().int().optional(),
  resources: z.array(Resource).optional(),
  attributes: z.array(Attribute).optional(),
  id: AgentID.optional(),
});
export type AgentInfo = z.infer<typeof AgentInfo>;

export const FrameworkCapabilityType = z.string();
export const FrameworkInfo = z.object({
  user: z.string(),
  name: z.string(),
  id: FrameworkID.optional(),
  /** Seconds a disconnected framework's tasks are kept; Mesos default 0. */
  failover_timeout: z.number().nonnegative().optional(),
  checkpoint: z.boolean().optional(),
  /** Deprecated single role; `roles` needs the MULTI_ROLE capability. */
  role: z.string().optional(),
  roles: z.array(z.string()).optional(),
  hostname: z.string().optional(),
  principal: z.string().optional(),
  webui_url: z.string().optional(),
  capabilities: z.array(z.object({ type: FrameworkCapabilityType })).optional(),
  labels: Labels.optional(),
  offer_filters: z.record(z.string(), z.unknown()).optional(),
});
export type FrameworkInfo = z.infer<typeof FrameworkInfo>;

export const EnvironmentVariable = z.object({
  name: z.string().min(1),
  type: z.enum(['UNKNOWN', 'VALUE', 'SECRET']).optional(),
  value: z.string().optional(),
});
export const Environment = z.object({ variables: z.array(EnvironmentVariable).optional() });
export type Environment = z.infer<typeof Environment>;

export const CommandURI = z.object({
  value: z.string().min(1),
  executable: z.boolean().optional(),
  /** Mesos default: true (archives are extracted unless told not to). */
  extract: z.boolean().optional(),
  cache: z.boolean().optional(),
  output_file: z.string().optional(),
});
export type CommandURI = z.infer<typeof CommandURI>;

export const CommandInfo = z.object({
  uris: z.array(CommandURI).optional(),
  environment: Environment.optional(),
  /** Mesos default: true, meaning `value` is run with `sh -c`. */
  shell: z.boolean().optional(),
  value: z.string().optional(),
  arguments: z.array(z.string()).optional(),
  user: z.string().optional(),
});
export type CommandInfo = z.infer<typeof CommandInfo>;

export const ContainerInfo = z.object({ type: z.string().optional() }).passthrough();
export type ContainerInfo = z.infer<typeof ContainerInfo>;

export const KillPolicy = z.object({ grace_period: DurationInfo.optional() });
export type KillPolicy = z.infer<typeof KillPolicy>;

export const HealthCheck = z.object({ type: z.string().optional() }).passthrough();
export type HealthCheck = z.infer<typeof HealthCheck>;

export const ExecutorInfo = z.object({
  type: z.enum(['UNKNOWN', 'DEFAULT', 'CUSTOM']).optional(),
  executor_id: ExecutorID,
  framework_id: FrameworkID.optional(),
  command: CommandInfo.optional(),
  container: ContainerInfo.optional(),
  resources: z.array(Resource).optional(),
  name: z.string().optional(),
  source: z.string().optional(),
  data: z.string().optional(),
  shutdown_grace_period: DurationInfo.optional(),
  labels: Labels.optional(),
});
export type ExecutorInfo = z.infer<typeof ExecutorInfo>;

export const TaskInfo = z.object({
  name: z.string(),
  task_id: TaskID,
  agent_id: AgentID,
  resources: z.array(Resource).optional(),
  executor: ExecutorInfo.optional(),
  command: CommandInfo.optional(),
  container: ContainerInfo.optional(),
  health_check: HealthCheck.optional(),
  check: z.record(z.string(), z.unknown()).optional(),
  kill_policy: KillPolicy.optional(),
  /** Opaque bytes, base64 in JSON. */
  data: z.string().optional(),
  labels: Labels.optional(),
  discovery: z.record(z.string(), z.unknown()).optional(),
  max_completion_time: DurationInfo.optional(),
});
export type TaskInfo = z.infer<typeof TaskInfo>;

export const TaskGroupInfo = z.object({ tasks: z.array(TaskInfo).optional() });
export type TaskGroupInfo = z.infer<typeof TaskGroupInfo>;

export const TASK_STATES = [
  'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_FAILED',
  'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_UNREACHABLE', 'TASK_GONE',
  'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN',
] as const;
export const TaskState = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskState>;

/** States after which a task never changes again (Mesos `protobuf::isTerminalState`). */
export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED',
  'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
]);
export function isTerminalState(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.has(state);
}

export const TaskStatusSource = z.enum(['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR']);
export type TaskStatusSource = z.infer<typeof TaskStatusSource>;

export const TASK_STATUS_REASONS = [
  'REASON_COMMAND_EXECUTOR_FAILED', 'REASON_CONTAINER_LAUNCH_FAILED', 'REASON_CONTAINER_LIMITATION',
  'REASON_CONTAINER_LIMITATION_DISK', 'REASON_CONTAINER_LIMITATION_MEMORY', 'REASON_CONTAINER_PREEMPTED',
  'REASON_CONTAINER_UPDATE_FAILED', 'REASON_MAX_COMPLETION_TIME_REACHED', 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
  'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', 'REASON_EXECUTOR_TERMINATED', 'REASON_EXECUTOR_UNREGISTERED',
  'REASON_FRAMEWORK_REMOVED', 'REASON_GC_ERROR', 'REASON_INVALID_FRAMEWORKID', 'REASON_INVALID_OFFERS',
  'REASON_IO_SWITCHBOARD_EXITED', 'REASON_MASTER_DISCONNECTED', 'REASON_RECONCILIATION',
  'REASON_RESOURCES_UNKNOWN', 'REASON_AGENT_DISCONNECTED', 'REASON_AGENT_REMOVED',
  'REASON_AGENT_REMOVED_BY_OPERATOR', 'REASON_AGENT_REREGISTERED', 'REASON_AGENT_RESTARTED',
  'REASON_AGENT_UNKNOWN', 'REASON_TASK_KILLED_DURING_LAUNCH', 'REASON_TASK_CHECK_STATUS_UPDATED',
  'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', 'REASON_TASK_GROUP_INVALID', 'REASON_TASK_GROUP_UNAUTHORIZED',
  'REASON_TASK_INVALID', 'REASON_TASK_UNAUTHORIZED', 'REASON_TASK_UNKNOWN', 'REASON_SLAVE_DISCONNECTED',
  'REASON_SLAVE_REMOVED', 'REASON_SLAVE_RESTARTED', 'REASON_SLAVE_UNKNOWN', 'REASON_CONTAINER_LIMITATION_EPHEMERAL_STORAGE',
  'REASON_AGENT_DRAINING',
] as const;
export const TaskStatusReason = z.enum(TASK_STATUS_REASONS);
export type TaskStatusReason = z.infer<typeof TaskStatusReason>;

export const TaskStatus = z.object({
  task_id: TaskID,
  state: TaskState,
  message: z.string().optional(),
  source: TaskStatusSource.optional(),
  reason: TaskStatusReason.optional(),
  data: z.string().optional(),
  agent_id: AgentID.optional(),
  executor_id: ExecutorID.optional(),
  /** Seconds since the epoch, fractional. */
  timestamp: z.number().optional(),
  /** Bytes, base64 in JSON; absent for updates that need no acknowledgement. */
  uuid: z.string().optional(),
  healthy: z.boolean().optional(),
  check_status: z.record(z.string(), z.unknown()).optional(),
  labels: Labels.optional(),
  container_status: z.record(z.string(), z.unknown()).optional(),
  unreachable_time: TimeInfo.optional(),
  limitation: z.record(z.string(), z.unknown()).optional(),
});
export type TaskStatus = z.infer<typeof TaskStatus>;

export const Filters = z.object({
  /** Seconds the declined resources are not re-offered; Mesos default 5. */
  refuse_seconds: z.number().nonnegative().optional(),
});
export type Filters = z.infer<typeof Filters>;

export const Offer = z.object({
  id: OfferID,
  framework_id: FrameworkID,
  agent_id: AgentID,
  hostname: z.string(),
  url: URL.optional(),
  resources: z.array(Resource).optional(),
  attributes: z.array(Attribute).optional(),
  executor_ids: z.array(ExecutorID).optional(),
  allocation_info: AllocationInfo.optional(),
});
export type Offer = z.infer<typeof Offer>;

export const OfferOperationType = z.enum([
  'UNKNOWN', 'LAUNCH', 'LAUNCH_GROUP', 'RESERVE', 'UNRESERVE', 'CREATE', 'DESTROY', 'GROW_VOLUME',
  'SHRINK_VOLUME', 'CREATE_DISK', 'DESTROY_DISK',
]);
export type OfferOperationType = z.infer<typeof OfferOperationType>;

export const OfferOperation = z.object({
  type: OfferOperationType,
  id: Id.optional(),
  launch: z.object({ task_infos: z.array(TaskInfo).optional() }).optional(),
  launch_group: z.object({ executor: ExecutorInfo, task_group: TaskGroupInfo }).optional(),
  reserve: z.object({ resources: z.array(Resource).optional() }).optional(),
  unreserve: z.object({ resources: z.array(Resource).optional() }).optional(),
});
export type OfferOperation = z.infer<typeof OfferOperation>;

/** Deepest nesting accepted from outside; no Mesos message comes near it. */
export const MAX_JSON_DEPTH = 64;

/**
 * Removes every `null`-valued object key, recursively, and `null` array elements, so that
 * clients that serialise absent optional/repeated fields as `null` validate like those that
 * omit them. Returns a new value; the input is not mutated.
 *
 * Walks with an explicit stack (no recursion) and throws `AGORA_JSON_TOO_DEEP` for
 * containers nested deeper than {@link MAX_JSON_DEPTH}, so hostile nesting can never
 * overflow the stack here or in recursive code (deep-equal, JSON.stringify) that would see
 * the value later. Use {@link safeParseJson} at boundaries: it never throws.
 */
export function stripNulls(value: unknown): unknown {
  // Most messages hold no null: then the value is returned as it is, after one read-only
  // walk, instead of a copy (copying every frame was a visible share of a busy master).
  if (!containsNull(value, 0)) return value;
  const copy = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (depth > MAX_JSON_DEPTH) throw new AgoraError('AGORA_JSON_TOO_DEEP', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    return Array.isArray(v) ? [] : {};
  };
  const root = copy(value, 0);
  const stack: Array<[unknown, unknown, number]> = [[value, root, 0]];
  while (stack.length > 0) {
    const [src, dst, depth] = stack.pop()!;
    if (Array.isArray(src)) {
      const out = dst as unknown[];
      for (const v of src) {
        if (v === null) continue;
        const c = copy(v, depth + 1);
        out.push(c);
        if (c !== v) stack.push([v, c, depth + 1]);
      }
    } else if (src !== null && typeof src === 'object') {
      const out = dst as Record<string, unknown>;
      for (const [k, v] of Object.entries(src)) {
        if (v === null) continue;
        const c = copy(v, depth + 1);
        // An own `__proto__` key (JSON.parse makes one) stays an own key: assigning it would
        // set the copy's prototype, and the schema would then read inherited fields.
        if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
        else out[k] = c;
        if (c !== v) stack.push([v, c, depth + 1]);
      }
    }
  }
  return root;
}

/**
 * True when a null appears anywhere in `v`. Recursion is bounded by {@link MAX_JSON_DEPTH}
 * (deeper input throws `AGORA_JSON_TOO_DEEP`, as {@link stripNulls} documents), so hostile
 * nesting cannot overflow the stack.
 */
function containsNull(v: unknown, depth: number): boolean {
  if (v === null) return true;
  if (typeof v !== 'object') return false;
  if (depth > MAX_JSON_DEPTH) throw new AgoraError('AGORA_JSON_TOO_DEEP', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(v)) {
    for (const item of v) if (containsNull(item, depth + 1)) return true;
    return false;
  }
  for (const key in v) {
    if (Object.prototype.hasOwnProperty.call(v, key) && containsNull((v as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/**
 * Validates JSON from outside against a schema: {@link stripNulls}, then `safeParse`.
 * Never throws; too-deep input fails like any other invalid input.
 *
 * The schema's fast validator (fast-parse.ts, compiled from the schema on first use) answers
 * first: it returns the very value zod would for the common shapes of a message, and hands
 * everything else, every invalid message included, to the zod path below, so results and
 * error messages are zod's.
 */
export function safeParseJson<T>(schema: z.ZodType<T>, json: unknown): z.ZodSafeParseResult<T> {
  const fast = fastParser(schema);
  if (fast !== undefined) {
    let value: T | typeof FALLBACK = FALLBACK;
    try {
      value = fast(json);
    } catch {
      // Only a value that is not JSON (a throwing getter, a proxy) gets here: zod's verdict.
    }
    if (value !== FALLBACK) return { success: true, data: value } as z.ZodSafeParseResult<T>;
  }
  return slowParseJson(schema, json);
}

/** {@link safeParseJson} without its fast validator: stripNulls and zod only (for tests and benchmarks). */
export function slowParseJson<T>(schema: z.ZodType<T>, json: unknown): z.ZodSafeParseResult<T> {
  let cleaned: unknown;
  try {
    cleaned = stripNulls(json);
  } catch (err) {
    return { success: false, error: new z.ZodError([{ code: 'custom', message: (err as Error).message, path: [], input: json }]) } as z.ZodSafeParseResult<T>;
  }
  return schema.safeParse(cleaned);
}
