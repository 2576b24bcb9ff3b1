/**
 * Agora's slave ↔ master protocol: JSON text frames over one WebSocket at the master's
 * `/api/v1/agent`. Every frame is one message with a `type` discriminator (or a batch of
 * them); both ends validate what they receive with {@link parseAgentFrame}/{@link parseMasterFrame}
 * and answer garbage with an `error` message instead of crashing.
 *
 * Flow (mirrors Mesos's agent ↔ master messages):
 * - slave → `register` → master → `registered` (new agent id `<masterId>-S<n>`)
 * - after a reconnect: slave → `reregister` (its id, frameworks, tasks, unacknowledged
 *   updates) → master → `reregistered`
 * - master → `ping` every ping interval, slave → `pong`; the master removes a slave that
 *   misses `maxPingTimeouts` pongs in a row, the slave reconnects when pings stop.
 * - master → `run_task`/`run_task_group`/`kill_task`/`shutdown_framework`
 * - slave → `status_update` (with uuid) → master forwards to the framework; the framework's
 *   ACKNOWLEDGE comes back as `status_update_ack`, and until then the slave resends.
 * - either way, once the other end announced `batches: true` at registration: `batch`, the
 *   messages of one event-loop turn in one frame (see "batch frames" below).
 *
 * @module
 */
import { z } from 'zod';
import { FrameBatcher } from '../core/frame-batcher.js';
import {
  AgentID, AgentInfo, ExecutorID, ExecutorInfo, FrameworkID, FrameworkInfo, KillPolicy,
  MasterInfo, TaskGroupInfo, TaskID, TaskInfo, TaskState, TaskStatus, safeParseJson,
} from './mesos.js';

/** A status update as the slave reports it: the task's status for one framework. */
export const StatusUpdate = z.object({
  framework_id: FrameworkID,
  executor_id: ExecutorID.optional(),
  status: TaskStatus,
  /**
   * Mesos `StatusUpdate.latest_state`: the task's state after the newest update the slave
   * holds for it, when that is not `status.state` (later updates wait behind this one until
   * it is acknowledged). A master may free a task's resources once this is terminal.
   */
  latest_state: TaskState.optional(),
});
export type StatusUpdate = z.infer<typeof StatusUpdate>;

/** A task a slave holds, as it reports it when re-registering. */
export const AgentTask = z.object({
  framework_id: FrameworkID,
  executor_id: ExecutorID.optional(),
  task: TaskInfo,
  state: TaskState,
});
export type AgentTask = z.infer<typeof AgentTask>;

// ---- slave → master ----
/**
 * On `register`/`reregister` and `registered`/`reregistered`: the sender accepts `batch`
 * frames. Each end sends batches only once the other said so, so a slave or a master that
 * predates them (and ignores the field) never receives one.
 */
const AcceptsBatches = z.boolean().optional();

export const RegisterMessage = z.object({
  type: z.literal('register'),
  agent_info: AgentInfo,
  version: z.string().optional(),
  batches: AcceptsBatches,
});
export const ReregisterMessage = z.object({
  type: z.literal('reregister'),
  agent_id: AgentID,
  agent_info: AgentInfo,
  version: z.string().optional(),
  batches: AcceptsBatches,
  frameworks: z.array(FrameworkInfo).optional(),
  tasks: z.array(AgentTask).optional(),
  /** Updates not yet acknowledged, oldest first per task; the master forwards them again. */
  unacknowledged_updates: z.array(StatusUpdate).optional(),
});
export const StatusUpdateMessage = z.object({ type: z.literal('status_update'), update: StatusUpdate });
export const PongMessage = z.object({ type: z.literal('pong') });
export const ExecutorExitedMessage = z.object({
  type: z.literal('executor_exited'),
  framework_id: FrameworkID,
  executor_id: ExecutorID,
  /** Wait status of the executor process, as Mesos's FAILURE event carries it. */
  status: z.number().int().optional(),
});
export const ExecutorToFrameworkMessage = z.object({
  type: z.literal('executor_to_framework'),
  framework_id: FrameworkID,
  executor_id: ExecutorID,
  data: z.string(),
});

export const AgentMessage = z.discriminatedUnion('type', [
  RegisterMessage, ReregisterMessage, StatusUpdateMessage, PongMessage, ExecutorExitedMessage,
  ExecutorToFrameworkMessage,
]);
/** A message a slave sends to the master. */
export type AgentMessage = z.infer<typeof AgentMessage>;

// ---- master → slave ----
export const RegisteredMessage = z.object({
  type: z.literal('registered'),
  agent_id: AgentID,
  master_info: MasterInfo,
  ping_interval_seconds: z.number().positive(),
  batches: AcceptsBatches,
});
export const ReregisteredMessage = z.object({
  type: z.literal('reregistered'),
  agent_id: AgentID,
  master_info: MasterInfo,
  ping_interval_seconds: z.number().positive(),
  batches: AcceptsBatches,
});
export const PingMessage = z.object({ type: z.literal('ping') });
export const RunTaskMessage = z.object({
  type: z.literal('run_task'),
  framework: FrameworkInfo,
  task: TaskInfo,
});
export const RunTaskGroupMessage = z.object({
  type: z.literal('run_task_group'),
  framework: FrameworkInfo,
  executor: ExecutorInfo,
  task_group: TaskGroupInfo,
});
export const KillTaskMessage = z.object({
  type: z.literal('kill_task'),
  framework_id: FrameworkID,
  task_id: TaskID,
  kill_policy: KillPolicy.optional(),
});
export const ShutdownFrameworkMessage = z.object({ type: z.literal('shutdown_framework'), framework_id: FrameworkID });
export const ShutdownExecutorMessage = z.object({
  type: z.literal('shutdown_executor'),
  framework_id: FrameworkID,
  executor_id: ExecutorID,
});
export const StatusUpdateAckMessage = z.object({
  type: z.literal('status_update_ack'),
  framework_id: FrameworkID,
  task_id: TaskID,
  uuid: z.string(),
});
export const FrameworkToExecutorMessage = z.object({
  type: z.literal('framework_to_executor'),
  framework_id: FrameworkID,
  executor_id: ExecutorID,
  data: z.string(),
});
export const ShutdownAgentMessage = z.object({ type: z.literal('shutdown'), message: z.string() });
export const ErrorMessage = z.object({ type: z.literal('error'), message: z.string() });

export const MasterMessage = z.discriminatedUnion('type', [
  RegisteredMessage, ReregisteredMessage, PingMessage, RunTaskMessage, RunTaskGroupMessage,
  KillTaskMessage, ShutdownFrameworkMessage, ShutdownExecutorMessage, StatusUpdateAckMessage,
  FrameworkToExecutorMessage, ShutdownAgentMessage, ErrorMessage,
]);
/** A message the master sends to a slave. */
export type MasterMessage = z.infer<typeof MasterMessage>;

export type AgentMessageOf<T extends AgentMessage['type']> = Extract<AgentMessage, { type: T }>;
export type MasterMessageOf<T extends MasterMessage['type']> = Extract<MasterMessage, { type: T }>;

/** Largest frame either end accepts; larger ones are refused (ws `maxPayload`). */
export const MAX_AGENT_FRAME_BYTES = 16 * 1024 * 1024;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

function parseJson(frame: string): ParseResult<unknown> {
  try {
    return { ok: true, message: JSON.parse(frame) as unknown };
  } catch (err) {
    return { ok: false, error: `malformed JSON: ${(err as Error).message}` };
  }
}

function parseWith<T>(schema: z.ZodType<T>, frame: string): ParseResult<T> {
  const json = parseJson(frame);
  return json.ok ? validate(schema, json.message) : json;
}

function validate<T>(schema: z.ZodType<T>, json: unknown): ParseResult<T> {
  const result = safeParseJson(schema, json);
  if (!result.success) return { ok: false, error: z.prettifyError(result.error).replace(/\n/g, '; ') };
  return { ok: true, message: result.data };
}

/** Parses and validates a frame a slave sent (one message; see {@link parseAgentFrame} for batches). */
export function parseAgentMessage(frame: string): ParseResult<AgentMessage> {
  return parseWith(AgentMessage, frame);
}

/** Parses and validates a frame the master sent (one message; see {@link parseMasterFrame} for batches). */
export function parseMasterMessage(frame: string): ParseResult<MasterMessage> {
  return parseWith(MasterMessage, frame);
}

// ---- batch frames ----
//
// `{"type":"batch","messages":[m1, m2, …]}`: the messages one end sent to the other during one
// event-loop turn, in order, in one WebSocket frame (an ACCEPT of twenty tasks on one agent is
// twenty `run_task`s; their STARTING updates and acknowledgements come back twenty at a time).
// The receiver handles them in order exactly as if each had come in its own frame. A batch is
// validated whole before any of it is handled: one bad message rejects the frame and changes
// nothing. Batches do not nest, and are sent only to a peer that announced `batches: true`.

/** Most messages in one batch frame. */
export const MAX_BATCH_MESSAGES = 10_000;
/**
 * A sender starts a new batch frame once the pending messages reach this many characters,
 * far below {@link MAX_AGENT_FRAME_BYTES} even in UTF-8 (at most 3 bytes a character).
 */
export const BATCH_FRAME_CHARS = 1024 * 1024;

/** The frame carrying `frames` (each the JSON of one message), in order: the frame itself when there is one. */
export function batchFrame(frames: readonly string[]): string {
  return frames.length === 1 ? frames[0]! : `{"type":"batch","messages":[${frames.join(',')}]}`;
}

/** Queues one connection's agent-protocol messages and sends each turn's as one {@link batchFrame}. */
export function agentFrameBatcher(send: (frame: string) => void): FrameBatcher {
  return new FrameBatcher({ send, join: batchFrame, maxChars: BATCH_FRAME_CHARS, maxMessages: MAX_BATCH_MESSAGES });
}

function parseFrameWith<T>(schema: z.ZodType<T>, frame: string): ParseResult<T[]> {
  const parsed = parseJson(frame);
  if (!parsed.ok) return parsed;
  const json = parsed.message;
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== 'batch') {
    const one = validate(schema, json);
    return one.ok ? { ok: true, message: [one.message] } : one;
  }
  const messages = (json as { messages?: unknown }).messages;
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH_MESSAGES) {
    return { ok: false, error: `a batch holds 1 to ${MAX_BATCH_MESSAGES} messages in "messages"` };
  }
  const out: T[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'batch') {
      return { ok: false, error: `batch message ${i}: batches do not nest` };
    }
    const one = validate(schema, m);
    if (!one.ok) return { ok: false, error: `batch message ${i}: ${one.error}` };
    out[i] = one.message;
  }
  return { ok: true, message: out };
}

/** Parses and validates a frame a slave sent: its messages, in order (one, or a batch's). */
export function parseAgentFrame(frame: string): ParseResult<AgentMessage[]> {
  return parseFrameWith(AgentMessage, frame);
}

/** Parses and validates a frame the master sent: its messages, in order (one, or a batch's). */
export function parseMasterFrame(frame: string): ParseResult<MasterMessage[]> {
  return parseFrameWith(MasterMessage, frame);
}
