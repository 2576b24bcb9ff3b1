/**
 * What a simulated task does (pure): its labels, falling back to the slave's `--sim-*`
 * defaults, become a plan — how long until TASK_RUNNING, whether it then finishes, fails
 * or runs until killed, after how long, and with which exit code. The one random draw (the
 * failure rate) comes from an injected source, so a seeded run is reproducible.
 *
 * Labels (TaskInfo.labels):
 * - `agora.sim.duration`: `250ms`, `10s`, `2mins`… or `forever` (runs until killed)
 * - `agora.sim.exit_code`: integer 0..255; 0 → TASK_FINISHED, else TASK_FAILED
 * - `agora.sim.failure_rate`: 0..1, the chance the task fails at start (TASK_FAILED, never RUNNING)
 * - `agora.sim.start_delay`: time from launch to TASK_RUNNING
 *
 * @module
 */
import { parseDuration } from '../../sdk/core/duration.js';
import { AgoraError } from '../../sdk/core/errors.js';
import type { Label } from '../../sdk/protocol/mesos.js';

/** The slave-wide defaults (`--sim-*` flags) a task's labels override. */
export interface SimDefaults {
  /** Time from TASK_RUNNING to the end, or `forever` (until killed). */
  durationMs: number | 'forever';
  /** Exit code of a task that ends: 0 → TASK_FINISHED, else TASK_FAILED. */
  exitCode: number;
  /** Chance (0..1) that a task fails at start. */
  failureRate: number;
  /** Time from launch (TASK_STARTING) to TASK_RUNNING. */
  startDelayMs: number;
}

/** Defaults when neither labels nor flags say: tasks start at once and run until killed. */
export const DEFAULT_SIM: SimDefaults = { durationMs: 'forever', exitCode: 0, failureRate: 0, startDelayMs: 0 };

/** The task labels the simulated containerizer reads. */
export const SIM_LABELS = {
  duration: 'agora.sim.duration',
  exitCode: 'agora.sim.exit_code',
  failureRate: 'agora.sim.failure_rate',
  startDelay: 'agora.sim.start_delay',
} as const;

/** What every key of {@link SIM_LABELS} starts with. */
const SIM_LABEL_PREFIX = 'agora.sim.';

/** What one simulated task does. */
export interface SimTaskPlan {
  /** Time from TASK_STARTING to TASK_RUNNING (or to the failure, when `failsAtStart`). */
  startDelayMs: number;
  /** `finish` (exit 0), `fail` (non-zero exit, or a failure at start), `forever` (until killed). */
  outcome: 'finish' | 'fail' | 'forever';
  /** Time from TASK_RUNNING to the end (0 for `forever` and for failures at start). */
  durationMs: number;
  exitCode: number;
  /** True when the failure-rate draw failed the task: TASK_FAILED after the start delay, no TASK_RUNNING. */
  failsAtStart: boolean;
  /** The terminal update's message (empty for `forever`). */
  message: string;
}

export type PlanResult = { ok: true; plan: SimTaskPlan } | { ok: false; message: string };

/** Longest timer the plan allows (Node's setTimeout caps at 2^31-1 ms; longer means `forever`). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Parses a simulated duration: a duration with a unit (`250ms`, `10s`, `2mins`) or `forever`.
 *
 * @throws AgoraError `AGORA_DURATION_INVALID` for anything else.
 */
export function parseSimDuration(text: string): number | 'forever' {
  if (text.trim().toLowerCase() === 'forever') return 'forever';
  const ms = parseDuration(text);
  if (ms > MAX_TIMER_MS) throw new AgoraError('AGORA_DURATION_INVALID', `invalid duration "${text}": longer than ${MAX_TIMER_MS}ms (use forever)`);
  return ms;
}

/** Parses an exit code: an integer 0..255 (a POSIX exit status). */
export function parseSimExitCode(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || n > 255) throw new AgoraError('AGORA_SIM_INVALID', `invalid exit code "${text}": expected an integer 0..255`);
  return n;
}

/** Parses a failure rate: a number 0..1. */
export function parseSimFailureRate(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new AgoraError('AGORA_SIM_INVALID', `invalid failure rate "${text}": expected a number from 0 to 1`);
  return n;
}

/** A start delay: a duration, never `forever`. */
function parseStartDelay(text: string): number {
  const v = parseSimDuration(text);
  if (v === 'forever') throw new AgoraError('AGORA_DURATION_INVALID', `invalid duration "${text}": a start delay cannot be forever`);
  return v;
}

/** The parsed value of one label, undefined when absent; a bad value throws naming the label. */
function labelValue<T>(byKey: ReadonlyMap<string, string>, key: string, parse: (text: string) => T): T | undefined {
  const text = byKey.get(key);
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (err) {
    throw new AgoraError('AGORA_SIM_INVALID', `Invalid label ${key}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Plans one task from its labels and the defaults. Draws from `random` once (only when the
 * failure rate is above 0). A bad label value gives `{ ok: false }` with a message naming
 * the label: the caller fails the task (REASON_TASK_INVALID).
 *
 * @example
 * planSimulatedTask([{ key: 'agora.sim.duration', value: '2s' }], DEFAULT_SIM, Math.random)
 * // { ok: true, plan: { startDelayMs: 0, outcome: 'finish', durationMs: 2000, exitCode: 0, failsAtStart: false, message: 'Command exited with status 0' } }
 */
export function planSimulatedTask(labels: readonly Label[] | undefined, defaults: SimDefaults, random: () => number): PlanResult {
  let labelled = false;
  let duration = defaults.durationMs;
  let exitCode = defaults.exitCode;
  let failureRate = defaults.failureRate;
  let startDelayMs = defaults.startDelayMs;
  // Most tasks carry no sim label (often no label at all): the defaults then stand, without a map.
  if (labels !== undefined && labels.some((l) => typeof l.key === 'string' && l.key.startsWith(SIM_LABEL_PREFIX))) {
    labelled = true;
    const byKey = new Map<string, string>();
    for (const l of labels) byKey.set(l.key, l.value ?? '');
    try {
      duration = labelValue(byKey, SIM_LABELS.duration, parseSimDuration) ?? duration;
      exitCode = labelValue(byKey, SIM_LABELS.exitCode, parseSimExitCode) ?? exitCode;
      failureRate = labelValue(byKey, SIM_LABELS.failureRate, parseSimFailureRate) ?? failureRate;
      startDelayMs = labelValue(byKey, SIM_LABELS.startDelay, parseStartDelay) ?? startDelayMs;
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  }
  const fails = failureRate > 0 && random() < failureRate;
  // A task without sim labels follows the defaults: one plan, shared by every such task (a
  // running task holds its plan for its life; plans are never mutated).
  if (!labelled && !fails) {
    let plan = defaultPlans.get(defaults);
    if (plan === undefined) defaultPlans.set(defaults, (plan = plannedFrom(startDelayMs, duration, exitCode)));
    return plan;
  }
  if (fails) {
    return {
      ok: true,
      plan: { startDelayMs, outcome: 'fail', durationMs: 0, exitCode: exitCode === 0 ? 1 : exitCode, failsAtStart: true, message: `Simulated failure at start (failure rate ${failureRate})` },
    };
  }
  return plannedFrom(startDelayMs, duration, exitCode);
}

/** The plan of a task that does not fail at start, shared by the tasks that follow their agent's defaults. */
const defaultPlans = new WeakMap<SimDefaults, PlanResult>();

/** The plan of a task that does not fail at start. */
function plannedFrom(startDelayMs: number, duration: number | 'forever', exitCode: number): PlanResult {
  if (duration === 'forever') {
    return { ok: true, plan: { startDelayMs, outcome: 'forever', durationMs: 0, exitCode, failsAtStart: false, message: '' } };
  }
  return {
    ok: true,
    plan: {
      startDelayMs,
      outcome: exitCode === 0 ? 'finish' : 'fail',
      durationMs: duration,
      exitCode,
      failsAtStart: false,
      message: `Command exited with status ${exitCode}`,
    },
  };
}
