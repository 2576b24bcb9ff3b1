/**
 * The runner every bench goes through: parses `--quick`, `--json` and the bench's own flags
 * (an unknown flag is a clear error, exit status 2), bounds the run in time (the bench's
 * budget; past it the processes are stopped and the run fails), records the machine, its
 * load and the git commit, checks the figures against the targets, prints the one JSON line
 * (and the table on a terminal), and cleans up every process on success, error, SIGINT and
 * SIGTERM.
 *
 * A bench module calls {@link runBench} at top level; `node dist/bench/<name>.js` runs it.
 * `--profile <dir>` runs every process the bench starts under `node --cpu-prof`, each
 * writing its profile under `<dir>/<process name>/` when it stops.
 *
 * @module
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { repoRoot } from '../../test/helpers/agora-process.js';
import { gitCommit, loadAverage, machineInfo } from './environment.js';
import { BenchProcesses } from './processes.js';
import { checkTargets, renderTable, type Target } from './report.js';
import { round } from './stats.js';

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

export interface BenchContext {
  quick: boolean;
  /** The bench's own flags (`--count 500` …), as parsed. */
  flags: Record<string, string | boolean | undefined>;
  /** Epoch ms after which the bench must stop measuring (its loops check {@link remainingMs}). */
  deadline: number;
  remainingMs(): number;
  /** Real processes, stopped at the end whatever happens. */
  processes: BenchProcesses;
  /** A progress note on stderr (never on stdout, which carries the JSON line). */
  note(message: string): void;
}

export interface BenchResult {
  /** What was run: counts, durations, flags. */
  params: Record<string, unknown>;
  /** What was measured (nested objects allowed; targets name figures by dotted path). */
  figures: Record<string, unknown>;
}

export interface BenchDefinition {
  name: string;
  /** Upper bound on the run (ms), quick and full; the runner fails the bench past it. */
  budgetMs: { quick: number; full: number };
  /** The bench's own flags, besides `--quick` and `--json`. */
  flags?: FlagOptions;
  /** Targets from issue 6, on figures of the result. */
  targets: Target[];
  /** The figure from elsewhere (Mesos, Nomad, Marathon) this one is read against. */
  anchor?: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** How long cleanup may take once the budget is spent, before the runner exits anyway. */
const CLEANUP_GRACE_MS = 30_000;

function parseFlags(def: BenchDefinition): { quick: boolean; json: boolean; profile?: string; flags: Record<string, string | boolean | undefined> } {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, profile: { type: 'string' }, ...def.flags },
    });
    const { quick, json, profile, ...flags } = values as Record<string, string | boolean | undefined>;
    return { quick: quick === true, json: json === true, ...(typeof profile === 'string' ? { profile: path.resolve(profile) } : {}), flags };
  } catch (err) {
    const known = ['--quick', '--json', '--profile <dir>', ...Object.keys(def.flags ?? {}).map((f) => `--${f}`)].join(', ');
    process.stderr.write(`bench ${def.name}: ${(err as Error).message} (flags: ${known})\n`);
    process.exit(2);
  }
}

/**
 * A numeric flag, or `fallback`; a value that is not an integer of at least `min` (1 unless
 * said: a count of 0 makes sense only for optional extras such as `launch --repeat 0`) is a
 * clear error.
 */
export function intFlag(ctx: Pick<BenchContext, 'flags'>, name: string, fallback: number, min = 1): number {
  const raw = ctx.flags[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min) {
    const wanted = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw new Error(`--${name} must be ${wanted}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Runs a bench as the main program of this process (see the module comment). */
export async function runBench(def: BenchDefinition): Promise<void> {
  const { quick, json, profile, flags } = parseFlags(def);
  const budgetMs = quick ? def.budgetMs.quick : def.budgetMs.full;
  const startedAt = Date.now();
  const loadAtStart = loadAverage();
  const processes = new BenchProcesses(def.name, profile);
  const tty = process.stdout.isTTY === true && !json;
  const ctx: BenchContext = {
    quick,
    flags,
    deadline: startedAt + budgetMs,
    remainingMs: () => startedAt + budgetMs - Date.now(),
    processes,
    note: (message) => {
      if (process.stderr.isTTY) process.stderr.write(`[${def.name}] ${message}\n`);
    },
  };

  let finished = false;
  let failing: Promise<never> | undefined;
  const fail = (message: string, exitCode: number): Promise<never> => {
    // A second signal (Ctrl-C reaches the whole group, and `agora bench` forwards it too) changes nothing.
    failing ??= failOnce(message, exitCode);
    return failing;
  };
  const failOnce = async (message: string, exitCode: number): Promise<never> => {
    if (!finished) {
      finished = true;
      process.stdout.write(`${JSON.stringify({ bench: def.name, quick, error: message, commit: gitCommit(repoRoot), load_average: loadAverage() })}\n`);
      process.stderr.write(`bench ${def.name} failed: ${message}\n`);
      for (const p of processes.all) if (p.running === false && p.proc.exitCode !== 0) process.stderr.write(`${p.tail(15)}\n`);
    }
    const force = setTimeout(() => process.exit(exitCode), CLEANUP_GRACE_MS);
    force.unref();
    await processes.stop().catch(() => undefined);
    process.exit(exitCode);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    void fail(`interrupted by ${signal}`, signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const overBudget = setTimeout(() => void fail(`gave up: over its time budget of ${budgetMs / 1000} s`, 1), budgetMs);
  overBudget.unref();

  let result: BenchResult;
  try {
    result = await def.run(ctx);
  } catch (err) {
    clearTimeout(overBudget);
    return fail((err as Error).message ?? String(err), 1);
  }
  clearTimeout(overBudget);
  if (finished) return;
  finished = true;
  await processes.stop().catch(() => undefined);
  const targets = checkTargets(result.figures, def.targets);
  const line = {
    bench: def.name,
    quick,
    params: result.params,
    figures: result.figures,
    targets,
    targets_met: targets.every((t) => t.met === true),
    ...(def.anchor ? { anchor: def.anchor } : {}),
    ...(profile ? { cpu_profiles: profile } : {}),
    machine: machineInfo(),
    load_average: { start: loadAtStart, end: loadAverage() },
    commit: gitCommit(repoRoot),
    date: new Date(startedAt).toISOString(),
    duration_s: round((Date.now() - startedAt) / 1000, 1),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  if (tty) process.stdout.write(`\n${renderTable(def.name, result.figures, targets)}\n\n`);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  // Sockets the bench's own clients left open (keep-alive agents) must not hold the process.
  process.exit(0);
}
