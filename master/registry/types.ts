/**
 * The master registry: what must outlive a master (Mesos `Registry`), persisted before the
 * master acknowledges it — admitted agents, agents marked unreachable (with the time) and,
 * beyond Mesos, each framework's failover deadline. A newly elected leader loads it to
 * know which agents to wait for and which frameworks to tear down on schedule.
 *
 * The whole registry is one small JSON document ({@link RegistrySnapshot}); the operations
 * are pure functions of it ({@link applyRegistryOp}) so both stores (ZooKeeper and file)
 * share them and a contract test runs against both.
 *
 * @module
 */
import { z } from 'zod';
import { AgoraError } from '../../sdk/core/errors.js';
import type { AgentInfo } from '../../sdk/protocol/index.js';

/** An agent the master admitted (registered or re-registered). */
export interface RegistryAgent {
  info: AgentInfo;
  /** ms since epoch of the (last) admission. */
  admittedAt: number;
}

/** A framework the master knows; `deadlineMs` is set while it is disconnected. */
export interface RegistryFramework {
  /** ms since epoch after which the disconnected framework is removed; absent while connected. */
  deadlineMs?: number;
}

/** The registry document. */
export interface RegistrySnapshot {
  /** agent id → admitted agent. */
  agents: Record<string, RegistryAgent>;
  /** agent id → ms since epoch at which it was marked unreachable. */
  unreachable: Record<string, number>;
  /** framework id → framework. */
  frameworks: Record<string, RegistryFramework>;
}

/** Unreachable agents remembered at most (oldest dropped first; Mesos `--registry_max_agent_count`). */
export const MAX_UNREACHABLE_AGENTS = 10_000;

/** The master's durable registry (ZooKeeper in HA mode, a file in the work dir standalone). */
export interface MasterRegistry {
  /** Reads the stored registry (an empty one when nothing was stored yet). */
  load(): Promise<RegistrySnapshot>;
  /** Admits (or re-admits) an agent; it stops being unreachable. Resolves once durable. */
  admitAgent(id: string, info: AgentInfo, timeMs: number): Promise<void>;
  /** Moves an agent from admitted to unreachable at `timeMs`. Resolves once durable. */
  markUnreachable(id: string, timeMs: number): Promise<void>;
  /** Forgets an agent (admitted or unreachable). Resolves once durable. */
  removeAgent(id: string): Promise<void>;
  /** Records a framework; `deadlineMs` while it is disconnected, undefined while connected. */
  setFrameworkDeadline(frameworkId: string, deadlineMs: number | undefined): Promise<void>;
  /** Forgets a removed framework. */
  removeFramework(frameworkId: string): Promise<void>;
  /** Releases the store (pending writes complete first). */
  close(): Promise<void>;
}

/** One registry mutation. */
export type RegistryOp =
  | { op: 'admitAgent'; id: string; info: AgentInfo; timeMs: number }
  | { op: 'markUnreachable'; id: string; timeMs: number }
  | { op: 'removeAgent'; id: string }
  | { op: 'setFrameworkDeadline'; frameworkId: string; deadlineMs: number | undefined }
  | { op: 'removeFramework'; frameworkId: string };

export function emptyRegistry(): RegistrySnapshot {
  return { agents: {}, unreachable: {}, frameworks: {} };
}

function checkId(what: string, id: unknown): void {
  if (typeof id !== 'string' || id.length === 0) throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `${what} must be a non-empty string`);
}

function checkTime(what: string, t: unknown): void {
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `${what} must be a non-negative number of ms`);
}

/**
 * Applies one operation to a snapshot, returning a new snapshot (the input is not changed).
 * Throws `AGORA_REGISTRY_BAD_INPUT` on bad ids or times (nothing changes).
 */
export function applyRegistryOp(s: RegistrySnapshot, op: RegistryOp): RegistrySnapshot {
  const next: RegistrySnapshot = { agents: { ...s.agents }, unreachable: { ...s.unreachable }, frameworks: { ...s.frameworks } };
  switch (op.op) {
    case 'admitAgent':
      checkId('agent id', op.id);
      checkTime('admission time', op.timeMs);
      if (typeof op.info !== 'object' || op.info === null) throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', 'agent info must be an object');
      next.agents[op.id] = { info: op.info, admittedAt: op.timeMs };
      delete next.unreachable[op.id];
      return next;
    case 'markUnreachable': {
      checkId('agent id', op.id);
      checkTime('unreachable time', op.timeMs);
      delete next.agents[op.id];
      next.unreachable[op.id] = op.timeMs;
      const ids = Object.keys(next.unreachable);
      if (ids.length > MAX_UNREACHABLE_AGENTS) {
        ids.sort((a, b) => next.unreachable[a]! - next.unreachable[b]!);
        for (const id of ids.slice(0, ids.length - MAX_UNREACHABLE_AGENTS)) delete next.unreachable[id];
      }
      return next;
    }
    case 'removeAgent':
      checkId('agent id', op.id);
      delete next.agents[op.id];
      delete next.unreachable[op.id];
      return next;
    case 'setFrameworkDeadline':
      checkId('framework id', op.frameworkId);
      if (op.deadlineMs !== undefined) checkTime('failover deadline', op.deadlineMs);
      next.frameworks[op.frameworkId] = op.deadlineMs === undefined ? {} : { deadlineMs: op.deadlineMs };
      return next;
    case 'removeFramework':
      checkId('framework id', op.frameworkId);
      delete next.frameworks[op.frameworkId];
      return next;
  }
}

const SnapshotSchema = z.object({
  agents: z.record(z.string(), z.object({ info: z.record(z.string(), z.unknown()), admittedAt: z.number() })),
  unreachable: z.record(z.string(), z.number()),
  frameworks: z.record(z.string(), z.object({ deadlineMs: z.number().optional() })),
});

/** The stored form: the snapshot plus a format version. */
export function encodeRegistry(s: RegistrySnapshot): string {
  return JSON.stringify({ format: 1, ...s });
}

/** Parses a stored registry. Throws `AGORA_REGISTRY_CORRUPT` with the reason. */
export function decodeRegistry(text: string, where: string): RegistrySnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at ${where} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = SnapshotSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AgoraError('AGORA_REGISTRY_CORRUPT', `registry at ${where} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data as unknown as RegistrySnapshot;
}

/**
 * The shared core of both stores: keeps the current snapshot, applies each operation to a
 * copy, writes the whole document, and adopts the copy once the write is durable. Writes
 * are serialised in call order; a failed write leaves the snapshot unchanged and rejects.
 */
export abstract class DocumentRegistry implements MasterRegistry {
  private current?: RegistrySnapshot;
  private chain: Promise<unknown> = Promise.resolve();

  /** Reads the stored document (undefined when none). */
  protected abstract read(): Promise<RegistrySnapshot | undefined>;
  /** Durably stores the document. */
  protected abstract write(snapshot: RegistrySnapshot): Promise<void>;

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  load(): Promise<RegistrySnapshot> {
    return this.enqueue(async () => {
      this.current = (await this.read()) ?? emptyRegistry();
      return structuredClone(this.current);
    });
  }

  private mutate(op: RegistryOp): Promise<void> {
    return this.enqueue(async () => {
      if (this.current === undefined) this.current = (await this.read()) ?? emptyRegistry();
      const next = applyRegistryOp(this.current, op);
      await this.write(next);
      this.current = next;
    });
  }

  admitAgent(id: string, info: AgentInfo, timeMs: number): Promise<void> {
    return this.mutate({ op: 'admitAgent', id, info, timeMs });
  }
  markUnreachable(id: string, timeMs: number): Promise<void> {
    return this.mutate({ op: 'markUnreachable', id, timeMs });
  }
  removeAgent(id: string): Promise<void> {
    return this.mutate({ op: 'removeAgent', id });
  }
  setFrameworkDeadline(frameworkId: string, deadlineMs: number | undefined): Promise<void> {
    return this.mutate({ op: 'setFrameworkDeadline', frameworkId, deadlineMs });
  }
  removeFramework(frameworkId: string): Promise<void> {
    return this.mutate({ op: 'removeFramework', frameworkId });
  }
  async close(): Promise<void> {
    await this.chain;
  }
}
