/**
 * The chaos suite, short schedule (docs/chaos.md): a real cluster (ZooKeeper, 3 masters,
 * 2 slaves behind fault proxies, Marathon, an SDK framework) under fixed seeds; the
 * assertion is zero violations of the five invariants, with the violations and the
 * run's JSON-lines log printed when it fails. Needs the build (`npm test` builds first)
 * and ZooKeeper.
 *
 * Every fault kind is allowed (CI_PROFILE in bench/chaos/profiles.ts); the schedules of
 * seeds 1 and 13 together contain every kind.
 */
import t, { type Test } from 'tap';
import { runChaos, type ChaosSummary } from '../../bench/chaos/run.js';
import { CI_PROFILE } from '../../bench/chaos/profiles.js';

t.setTimeout(300_000);

async function shortRun(t: Test, seed: number): Promise<ChaosSummary> {
  const lines: string[] = [];
  const summary = await runChaos({
    ...CI_PROFILE,
    seed,
    out: (line) => lines.push(line),
  });
  const injected = Object.values(summary.faults).reduce((a, b) => a + b, 0);
  t.same(summary.violations, [], `seed ${seed}: no invariant violated`);
  if (summary.violations.length > 0) t.comment(`seed ${seed} log (replay: node dist/bench/chaos.js --profile ci --seed ${seed}):\n${lines.filter((l) => !l.includes('"event":"launch"')).join('\n')}`);
  t.ok(injected > 0, `seed ${seed}: ${injected} faults injected (${JSON.stringify(summary.faults)})`);
  t.ok(summary.invariant_checks > 0, `seed ${seed}: ${summary.invariant_checks} invariant checks`);
  t.not(summary.converged_after_s, null, 'the cluster converged within the bound');
  t.ok(summary.tasks_launched > 0, `the framework launched ${summary.tasks_launched} tasks`);
  t.ok(lines.every((l) => JSON.parse(l).seed === seed), 'every log line carries the seed');
  return summary;
}

t.test('chaos, seed 1', async (t) => {
  await shortRun(t, 1);
});

t.test('chaos, seed 13', async (t) => {
  await shortRun(t, 13);
});
