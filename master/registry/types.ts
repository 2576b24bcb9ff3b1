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
  /**
   * agent id → ms since epoch at which the registry GC forgot it (it was unreachable for
   * longer than `--registry-max-agent-age`, or beyond `--registry-max-agent-count`). Such an
   * agent that comes back is told to shut down its tasks and register afresh.
   */
  gone: Record<string, number>;
}

/** Unreachable agents remembered at most (oldest dropped first; Mesos `--registry_max_agent_count`). */
export const MAX_UNREACHABLE_AGENTS = 10_000;
/** Garbage-collected ("gone") agent ids remembered at most (oldest dropped first). */
export const MAX_GONE_AGENTS = 10_000;

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
  /** Moves unreachable agents to `gone` at `timeMs` (registry GC); ids not unreachable are ignored. Resolves once durable. */
  pruneUnreachable(ids: readonly string[], timeMs: number): Promise<void>;
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
  | { op: 'pruneUnreachable'; ids: readonly string[]; timeMs: number }
  | { op: 'setFrameworkDeadline'; frameworkId: string; deadlineMs: number | undefined }
  | { op: 'removeFramework'; frameworkId: string };

export function emptyRegistry(): RegistrySnapshot {
  return { agents: {}, unreachable: {}, frameworks: {}, gone: {} };
}

function checkId(what: string, id: unknown): void {
  if (typeof id !== 'string' || id.length === 0) throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `${what} must be a non-empty string`);
}

function checkTime(what: string, t: unknown): void {
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', `${what} must be a non-negative number of ms`);
}

/** Deletes the entries with the smallest times until at most `max` are left. */
function dropOldest(times: Record<string, number>, max: number): void {
  const ids = Object.keys(times);
  if (ids.length <= max) return;
  ids.sort((a, b) => times[a]! - times[b]!);
  for (const id of ids.slice(0, ids.length - max)) delete times[id];
}

/**
 * Applies one operation to a snapshot, returning a new snapshot (the input is not changed).
 * Throws `AGORA_REGISTRY_BAD_INPUT` on bad ids or times (nothing changes).
 */
export function applyRegistryOp(s: RegistrySnapshot, op: RegistryOp): RegistrySnapshot {
  const next: RegistrySnapshot = { agents: { ...s.agents }, unreachable: { ...s.unreachable }, frameworks: { ...s.frameworks }, gone: { ...s.gone } };
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
      dropOldest(next.unreachable, MAX_UNREACHABLE_AGENTS);
      return next;
    }
    case 'removeAgent':
      checkId('agent id', op.id);
      delete next.agents[op.id];
      delete next.unreachable[op.id];
      return next;
    case 'pruneUnreachable':
      if (!Array.isArray(op.ids)) throw new AgoraError('AGORA_REGISTRY_BAD_INPUT', 'agent ids to prune must be a list');
      for (const id of op.ids) checkId('agent id', id);
      checkTime('prune time', op.timeMs);
      // Only unreachable entries: an agent re-admitted meanwhile stays admitted (Mesos `Prune`).
      for (const id of op.ids) {
        if (next.unreachable[id] === undefined) continue;
        delete next.unreachable[id];
        next.gone[id] = op.timeMs;
      }
      dropOldest(next.gone, MAX_GONE_AGENTS);
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
  // Absent in registries written before gone agents were recorded.
  gone: z.record(z.string(), z.number()).default({}),
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

/** True when `op` would leave `s` as it is (re-admitting an agent with unchanged info, …). */
export function isNoopRegistryOp(s: RegistrySnapshot, op: RegistryOp): boolean {
  switch (op.op) {
    case 'admitAgent': {
      const known = s.agents[op.id];
      return known !== undefined && s.unreachable[op.id] === undefined && JSON.stringify(known.info) === JSON.stringify(op.info);
    }
    case 'markUnreachable':
      return false;
    case 'removeAgent':
      return s.agents[op.id] === undefined && s.unreachable[op.id] === undefined;
    case 'pruneUnreachable':
      return Array.isArray(op.ids) && op.ids.every((id) => s.unreachable[id] === undefined);
    case 'setFrameworkDeadline': {
      const known = s.frameworks[op.frameworkId];
      return known !== undefined && known.deadlineMs === op.deadlineMs;
    }
    case 'removeFramework':
      return s.frameworks[op.frameworkId] === undefined;
  }
}

interface PendingOp {
  op: RegistryOp;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The shared core of both stores: keeps the current snapshot, applies operations to a
 * copy, writes the whole document, and adopts the copy once the write is durable.
 *
 * Writes are group-committed: operations that arrive while a write is in flight are applied
 * together, in call order, and go out in the next single write (a new leader admitting 200
 * re-registering agents writes a handful of times, not 200 times in series). An operation
 * that would change nothing resolves without a write. A failed write leaves the snapshot
 * unchanged and rejects every operation of its batch; an operation with bad input rejects
 * alone and the rest of its batch is still written.
 */
export abstract class DocumentRegistry implements MasterRegistry {
  private current?: RegistrySnapshot;
  private pending: PendingOp[] = [];
  /** The running write loop, if any; `close()` and `load()` wait for it. */
  private flushing?: Promise<void>;

  /** Reads the stored document (undefined when none). */
  protected abstract read(): Promise<RegistrySnapshot | undefined>;
  /** Durably stores the document. */
  protected abstract write(snapshot: RegistrySnapshot): Promise<void>;

  async load(): Promise<RegistrySnapshot> {
    await this.idle();
    this.current = (await this.read()) ?? emptyRegistry();
    return structuredClone(this.current);
  }

  private async idle(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  private mutate(op: RegistryOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      this.kick();
    });
  }

  /** Starts the write loop unless it runs; restarts it for ops queued as it was finishing. */
  private kick(): void {
    if (this.flushing !== undefined) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      let base: RegistrySnapshot;
      try {
        base = this.current ?? (await this.read()) ?? emptyRegistry();
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      this.current = base;
      let next = base;
      const applied: PendingOp[] = [];
      for (const p of batch) {
        try {
          if (isNoopRegistryOp(next, p.op)) {
            p.resolve();
            continue;
          }
          next = applyRegistryOp(next, p.op);
          applied.push(p);
        } catch (err) {
          p.reject(err);
        }
      }
      if (applied.length === 0) continue;
      try {
        await this.write(next);
        this.current = next;
        for (const p of applied) p.resolve();
      } catch (err) {
        for (const p of applied) p.reject(err);
      }
    }
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
  pruneUnreachable(ids: readonly string[], timeMs: number): Promise<void> {
    return this.mutate({ op: 'pruneUnreachable', ids: [...ids], timeMs });
  }
  setFrameworkDeadline(frameworkId: string, deadlineMs: number | undefined): Promise<void> {
    return this.mutate({ op: 'setFrameworkDeadline', frameworkId, deadlineMs });
  }
  removeFramework(frameworkId: string): Promise<void> {
    return this.mutate({ op: 'removeFramework', frameworkId });
  }
  async close(): Promise<void> {
    await this.idle();
  }
}
