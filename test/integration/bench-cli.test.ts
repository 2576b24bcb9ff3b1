/**
 * `agora bench`, run as users run it (`node dist/bin/agora.js bench …`, built code): the
 * cheapest bench prints one well-formed JSON line of figures; bad names and flags are clear
 * errors with a non-zero exit. Figures are never checked against targets here (benchmarks
 * own their targets, tests assert behaviour).
 */
import t from 'tap';
import path from 'node:path';
import { repoRoot, spawnAgora } from '../helpers/agora-process.js';

const SOON = 120_000;

t.test('agora bench allocator --quick --json prints one JSON line of figures', async (t) => {
  const p = spawnAgora(['bench', 'allocator', '--quick', '--json'], { t, name: 'bench' });
  const { code } = await p.waitForExit(SOON);
  t.equal(code, 0, p.stderr);
  const lines = p.stdout.split('\n').filter((l) => l.trim() !== '');
  t.equal(lines.length, 1, 'exactly one line on stdout');
  const result = JSON.parse(lines[0]!) as Record<string, any>;
  t.equal(result.bench, 'allocator');
  t.equal(result.quick, true);
  t.type(result.figures.ms_at_10k_agents_100_frameworks, 'number');
  t.equal(result.figures.cells.length, 4, 'quick: {1k, 10k} agents x {1, 100} frameworks');
  for (const cell of result.figures.cells) {
    t.type(cell.ms_median, 'number');
    t.equal(cell.offers, cell.agents, 'every idle agent is offered');
  }
  t.ok(Array.isArray(result.targets) && result.targets.length > 0, 'targets listed');
  for (const target of result.targets) {
    t.type(target.figure, 'string');
    t.type(target.target, 'string');
    t.type(target.met, 'boolean');
  }
  t.type(result.targets_met, 'boolean');
  t.type(result.machine.cpus, 'number');
  t.equal(result.load_average.start.length, 3, '1, 5 and 15-minute load');
  t.equal(result.load_average.end.length, 3);
  t.match(result.commit, /^([0-9a-f]{4,}(-dirty)?|unknown)$/);
  t.type(result.duration_s, 'number');
});

t.test('agora bench with an unknown name fails before running anything', async (t) => {
  const p = spawnAgora(['bench', 'no-such-bench'], { t, name: 'bench' });
  const { code } = await p.waitForExit(SOON);
  t.not(code, 0);
  t.match(p.stderr, /unknown benchmark "no-such-bench"; one of: allocator, launch/);
  t.equal(p.stdout, '', 'no figures');
});

t.test('agora bench --list names every bench', async (t) => {
  const p = spawnAgora(['bench', '--list'], { t, name: 'bench' });
  const { code } = await p.waitForExit(SOON);
  t.equal(code, 0);
  for (const name of ['allocator', 'launch', 'offers', 'agents', 'spawn', 'marathon', 'failover']) t.match(p.stdout, new RegExp(`^\\s+${name}\\s`, 'm'), `lists ${name}`);
});

t.test('a bench refuses an unknown flag (exit 2) and names the flags it takes', async (t) => {
  const p = spawnAgora(['--no-such-flag'], { t, name: 'allocator', command: [process.execPath, path.join(repoRoot, 'dist/bench/allocator.js')] });
  const { code } = await p.waitForExit(SOON);
  t.equal(code, 2);
  t.match(p.stderr, /--no-such-flag/);
  t.match(p.stderr, /--quick, --json/);
  t.equal(p.stdout, '');
});
