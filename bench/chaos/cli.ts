/**
 * The command-line front of the chaos run, shared by `agora chaos` and
 * `node dist/bench/chaos.js`: options → {@link ChaosOptions}, Ctrl-C → abort (the cluster is
 * torn down and the summary printed), exit status 1 when there were violations.
 *
 * @module
 */
import { randomInt as cryptoRandomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { ZOOKEEPER_JAR } from '../../test/helpers/zookeeper.js';
import { parseDuration } from '../../sdk/core/duration.js';
import { AgoraError } from '../../sdk/core/errors.js';
import { runChaos, type ChaosOptions, type ChaosSummary } from './run.js';
import { parseFaultKinds } from './schedule.js';
import { PROFILES } from './profiles.js';

/** Options as text, as a command line gives them. */
export interface ChaosCliFlags {
  /** `ci` or `long` (default): the base the other flags override. */
  profile?: string;
  duration?: string;
  seed?: string;
  slaves?: string;
  masters?: string;
  marathons?: string;
  faults?: string;
  converge?: string;
  workDir?: string;
  keepWorkDir?: boolean;
  /** false: the framework subscribes without PARTITION_AWARE. */
  partitionAware?: boolean;
}

function count(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < min || n > max) {
    throw new AgoraError('AGORA_CHAOS_OPTIONS_INVALID', `--${name} must be an integer from ${min} to ${max} (got "${text}")`);
  }
  return n;
}

/** Validates the flags; throws AgoraError `AGORA_CHAOS_OPTIONS_INVALID`/`AGORA_DURATION_INVALID`. */
export function chaosOptionsFromFlags(flags: ChaosCliFlags, out: (line: string) => void, signal?: AbortSignal): ChaosOptions {
  const profile = PROFILES[flags.profile ?? 'long'];
  if (!profile) throw new AgoraError('AGORA_CHAOS_OPTIONS_INVALID', `unknown --profile "${flags.profile}" (known: ${Object.keys(PROFILES).join(', ')})`);
  const seed = flags.seed === undefined ? cryptoRandomInt(1, 2 ** 31 - 1) : count('seed', flags.seed, 0, 2 ** 32 - 1);
  return {
    ...profile,
    seed,
    ...(flags.duration !== undefined ? { durationMs: parseDuration(flags.duration) } : {}),
    ...(flags.faults !== undefined ? { kinds: parseFaultKinds(flags.faults) } : {}),
    ...(flags.masters !== undefined ? { masters: count('masters', flags.masters, 1, 7) } : {}),
    ...(flags.slaves !== undefined ? { slaves: count('slaves', flags.slaves, 1, 20) } : {}),
    ...(flags.marathons !== undefined ? { marathons: count('marathons', flags.marathons, 1, 3) } : {}),
    ...(flags.converge !== undefined ? { convergeBoundMs: parseDuration(flags.converge) } : {}),
    ...(flags.workDir !== undefined ? { workDir: flags.workDir } : {}),
    ...(flags.keepWorkDir ? { keepWorkDir: true } : {}),
    partitionAware: flags.partitionAware !== false,
    out,
    ...(signal ? { signal } : {}),
  };
}

/** Runs with Ctrl-C handling; sets the exit code (0 no violations, 1 violations, 2 bad options). */
export async function runChaosFromCli(flags: ChaosCliFlags): Promise<ChaosSummary | undefined> {
  const ac = new AbortController();
  let options: ChaosOptions;
  try {
    options = chaosOptionsFromFlags(flags, (line) => process.stdout.write(`${line}\n`), ac.signal);
  } catch (err) {
    process.stderr.write(`agora chaos: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return undefined;
  }
  if (!existsSync(ZOOKEEPER_JAR)) {
    process.stderr.write(`agora chaos: needs ZooKeeper (${ZOOKEEPER_JAR} is missing): run 'node scripts/ensure-zookeeper.mjs' or 'sudo apt-get install zookeeper'\n`);
    process.exitCode = 2;
    return undefined;
  }
  const onSignal = (): void => {
    process.stderr.write('agora chaos: stopping (cleaning up the cluster)…\n');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runChaos(options);
    process.exitCode = summary.violations.length > 0 ? 1 : 0;
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
