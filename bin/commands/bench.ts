/**
 * `agora bench <name|all> [--quick] [--json] [-- <bench flags>]`: runs benchmarks of
 * bench/ (BENCHMARKS.md), each as its own `node dist/bench/<name>.js` process with this
 * terminal (so its JSON line, and its table on a TTY, print here). `--list` names them.
 * An unknown name is an error (exit 2) before anything starts. Exit status: 0 when every
 * bench ran to its figures (met targets or not), 1 when one failed, 130 on Ctrl-C.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { BENCHES, findBench, type BenchEntry } from '../../bench/lib/registry.js';

/** Runs one bench script to completion; resolves with its exit status. Signals reach it (forwarded). */
function runOne(entry: BenchEntry, args: string[]): Promise<number> {
  const script = fileURLToPath(new URL(`../../bench/${entry.script}`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`agora bench: could not start ${entry.name}: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      process.removeListener('SIGINT', forward);
      process.removeListener('SIGTERM', forward);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

function listing(): string {
  const width = Math.max(...BENCHES.map((b) => b.name.length));
  return BENCHES.map((b) => `  ${b.name.padEnd(width)}  ${b.summary}`).join('\n');
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('run a benchmark (or all) and print its figures as one JSON line (BENCHMARKS.md)')
    .argument('[name]', `a benchmark, or "all": ${BENCHES.map((b) => b.name).join(', ')}`)
    .argument('[benchArgs...]', 'flags for the bench itself, after --')
    .option('--quick', 'small parameters (all quick benches take under 2 minutes)')
    .option('--json', 'only the JSON line, no table even on a terminal')
    .option('--list', 'list the benchmarks')
    .action(async (name: string | undefined, benchArgs: string[], flags: { quick?: boolean; json?: boolean; list?: boolean }) => {
      if (flags.list || name === undefined) {
        process.stdout.write(`benchmarks (agora bench <name> [--quick]):\n${listing()}\n`);
        if (name === undefined && !flags.list) process.exitCode = 2;
        return;
      }
      const entries = name === 'all' ? BENCHES : [findBench(name)].filter((e): e is BenchEntry => e !== undefined);
      if (entries.length === 0) {
        process.stderr.write(`agora bench: unknown benchmark "${name}"; one of: ${BENCHES.map((b) => b.name).join(', ')}, all\n`);
        process.exitCode = 2;
        return;
      }
      if (name === 'all' && benchArgs.length > 0) {
        process.stderr.write('agora bench: bench flags after -- apply to one bench, not to "all"\n');
        process.exitCode = 2;
        return;
      }
      const args = [...(flags.quick ? ['--quick'] : []), ...(flags.json ? ['--json'] : []), ...benchArgs];
      const failed: string[] = [];
      for (const entry of entries) {
        const code = await runOne(entry, args);
        if (code === 130 || code === 143) {
          process.exitCode = code;
          return;
        }
        if (code !== 0) failed.push(entry.name);
      }
      if (failed.length > 0) {
        process.stderr.write(`agora bench: failed: ${failed.join(', ')}\n`);
        process.exitCode = 1;
      }
    });
}
