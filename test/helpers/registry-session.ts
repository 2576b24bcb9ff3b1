/**
 * ZooKeeper registry sessions for tests that steer the order of a registry's operations:
 * {@link interposedSession} commits in the middle of a read; {@link controlledSession} records
 * every call and holds, fails or awaits chosen ones (a compaction's piece creates, a head set).
 */
import type { RegistryZkSession } from '../../master/registry/index.js';
import type { AgentInfo } from '../../sdk/protocol/index.js';
import { seededRandom } from '../../slave/sim/prng.js';

/**
 * Agents with some variety (hostnames, sizes, a rack attribute), so that a registry of them
 * does not compress to nothing; seeded (slave/sim/prng.ts), the same agents every run.
 */
export function variedAgents(seed: number): (i: number) => AgentInfo {
  const random = seededRandom(seed);
  const rand = (n: number): number => Math.floor(random() * n);
  return (i) => ({
    hostname: `ip-10-${rand(256)}-${rand(256)}-${rand(256)}.eu-west-1.compute.internal`, port: 5051,
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: rand(64) + 1 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: rand(500_000) + 1024 } },
    ],
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: `r${rand(400)}-${i}` } }],
  } as AgentInfo);
}

/** The first `get` under `prefix` (a piece of the registry) first awaits `before`, then reads. */
export function interposedSession(session: RegistryZkSession, prefix: string, before: () => Promise<void>): { session: RegistryZkSession; interposed: () => boolean } {
  let interposed = false;
  return {
    interposed: () => interposed,
    session: {
      get: async (p) => {
        if (!interposed && p.startsWith(prefix)) {
          interposed = true;
          await before();
        }
        return session.get(p);
      },
      set: (p, d, v) => session.set(p, d, v),
      create: (p, d, m) => session.create(p, d, m),
      mkdirp: (p) => session.mkdirp(p),
      children: (p) => session.children(p),
      delete: (p, v) => session.delete(p, v),
    },
  };
}

/** One call a {@link controlledSession} passed on (or failed), with its arguments. */
export interface SessionCall {
  op: 'get' | 'set' | 'create' | 'mkdirp' | 'children' | 'delete';
  path: string;
  data?: Buffer;
}

/**
 * What happened to a call, in the order it happened: called (by the registry), begun (passed on
 * to ZooKeeper, after any hold), done, or failed.
 */
export interface SessionEvent {
  call: SessionCall;
  at: 'called' | 'begun' | 'done' | 'failed';
}

/** Calls held before they reach ZooKeeper until the test lets them go or fails them. */
export interface Gate {
  /** The calls held so far. */
  readonly held: readonly SessionCall[];
  /** Resolves once `n` calls are held. */
  reached(n: number): Promise<void>;
  /** Lets every call held, and every later matching one, through. */
  release(): void;
  /** Fails every call held with `err`; later matching ones go through. */
  fail(err: Error): void;
}

export interface ControlledSession {
  session: RegistryZkSession;
  /** Every call, in order. */
  readonly events: readonly SessionEvent[];
  /** Holds the calls matching `match` from now on (until the gate is released or failed). */
  hold(match: (call: SessionCall) => boolean): Gate;
  /** Fails the next call matching `match` with `err`, without passing it on. */
  failNext(match: (call: SessionCall) => boolean, err: Error): void;
  /** Resolves with the first call from now on matching `match` that is at `at` (default done). */
  next(match: (call: SessionCall) => boolean, at?: SessionEvent['at']): Promise<SessionCall>;
}

/**
 * A registry session that records every call in order and lets a test hold, fail or await
 * calls: the order of a registry's ZooKeeper operations, observed and steered without timing.
 */
export function controlledSession(inner: RegistryZkSession): ControlledSession {
  const events: SessionEvent[] = [];
  const gates: { match: (c: SessionCall) => boolean; state: 'holding' | 'open'; held: SessionCall[]; waiting: ((outcome: Error | undefined) => void)[]; wake: (() => void)[] }[] = [];
  const failures: { match: (c: SessionCall) => boolean; err: Error }[] = [];
  const waiters: { match: (c: SessionCall) => boolean; at: SessionEvent['at']; resolve: (c: SessionCall) => void }[] = [];
  const record = (call: SessionCall, at: SessionEvent['at']): void => {
    events.push({ call, at });
    for (const w of [...waiters]) {
      if (w.at === at && w.match(call)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(call);
      }
    }
  };
  const run = async <T>(call: SessionCall, fn: () => Promise<T>): Promise<T> => {
    record(call, 'called');
    const failure = failures.find((f) => f.match(call));
    if (failure !== undefined) {
      failures.splice(failures.indexOf(failure), 1);
      record(call, 'failed');
      throw failure.err;
    }
    const gate = gates.find((g) => g.state === 'holding' && g.match(call));
    if (gate !== undefined) {
      const outcome = await new Promise<Error | undefined>((resolve) => {
        gate.held.push(call);
        gate.waiting.push(resolve);
        for (const wake of gate.wake.splice(0)) wake();
      });
      if (outcome !== undefined) {
        record(call, 'failed');
        throw outcome;
      }
    }
    record(call, 'begun');
    try {
      const result = await fn();
      record(call, 'done');
      return result;
    } catch (err) {
      record(call, 'failed');
      throw err;
    }
  };
  return {
    events,
    session: {
      get: (p) => run({ op: 'get', path: p }, () => inner.get(p)),
      set: (p, d, v) => run({ op: 'set', path: p, data: Buffer.from(d) }, () => inner.set(p, d, v)),
      create: (p, d, m) => run({ op: 'create', path: p, data: Buffer.from(d) }, () => inner.create(p, d, m)),
      mkdirp: (p) => run({ op: 'mkdirp', path: p }, () => inner.mkdirp(p)),
      children: (p) => run({ op: 'children', path: p }, () => inner.children(p)),
      delete: (p, v) => run({ op: 'delete', path: p }, () => inner.delete(p, v)),
    },
    hold(match) {
      const gate = { match, state: 'holding' as 'holding' | 'open', held: [] as SessionCall[], waiting: [] as ((outcome: Error | undefined) => void)[], wake: [] as (() => void)[] };
      gates.push(gate);
      const open = (outcome: Error | undefined): void => {
        gate.state = 'open';
        for (const go of gate.waiting.splice(0)) go(outcome);
      };
      return {
        held: gate.held,
        reached: async (n) => {
          while (gate.held.length < n) await new Promise<void>((resolve) => gate.wake.push(resolve));
        },
        release: () => open(undefined),
        fail: (err) => open(err),
      };
    },
    failNext(match, err) {
      failures.push({ match, err });
    },
    next(match, at = 'done') {
      return new Promise((resolve) => waiters.push({ match, at, resolve }));
    },
  };
}
