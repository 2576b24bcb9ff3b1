/**
 * The chaos schedule (bench/chaos/schedule.ts) and its PRNG: same seed → same schedule,
 * faults in order without overlap, durations that outlast the timeouts they are meant to
 * trip, targets in range, and clear errors for bad options.
 */
import t from 'tap';
import { mulberry32, pick, randomInt } from '../../bench/chaos/prng.js';
import { FAULT_KINDS, countByKind, generateSchedule, parseFaultKinds, type ScheduleOptions } from '../../bench/chaos/schedule.js';
import { AgoraError } from '../../sdk/core/errors.js';

const base: ScheduleOptions = {
  seed: 42,
  durationMs: 600_000,
  kinds: [...FAULT_KINDS],
  slaves: 3,
  masters: 3,
  marathons: 2,
  timeouts: { zkSessionTimeoutMs: 4000, agentPingBudgetMs: 6000 },
  gapMs: { min: 3000, max: 10_000 },
};

t.test('mulberry32 is deterministic, in [0, 1), and seeds differ', async (t) => {
  const a = mulberry32(7);
  const b = mulberry32(7);
  const xs = Array.from({ length: 1000 }, () => a());
  t.same(Array.from({ length: 1000 }, () => b()), xs, 'same seed, same sequence');
  t.ok(xs.every((x) => x >= 0 && x < 1), 'every value in [0, 1)');
  t.not(mulberry32(8)(), xs[0], 'another seed, another sequence');
  t.ok(new Set(xs).size > 990, 'values do not repeat in a short run');
  const r = mulberry32(1);
  const ints = Array.from({ length: 500 }, () => randomInt(r, 2, 4));
  t.same([...new Set(ints)].sort(), [2, 3, 4], 'randomInt covers [min, max] inclusive and nothing else');
  t.equal(pick(mulberry32(3), ['only']), 'only');
  t.throws(() => pick(mulberry32(3), []), /empty/);
});

t.test('a seed replays the same schedule; another seed gives another', async (t) => {
  const s1 = generateSchedule(base);
  t.same(generateSchedule(base), s1, 'identical for the same options');
  t.notSame(generateSchedule({ ...base, seed: 43 }), s1, 'different for another seed');
  t.ok(s1.length > 10, `a 10-minute phase has many faults (${s1.length})`);
});

t.test('faults are in order, one at a time, inside the phase, on existing targets', async (t) => {
  for (const seed of [1, 2, 3, 99, 123456]) {
    const s = generateSchedule({ ...base, seed });
    s.forEach((f, i) => {
      if (f.seq !== i) t.fail(`seq ${f.seq} at position ${i}`);
      if (f.at_ms >= base.durationMs) t.fail(`fault ${i} starts after the phase`);
      const prev = s[i - 1];
      if (prev && f.at_ms < prev.at_ms + prev.duration_ms + base.gapMs.min) t.fail(`fault ${i} overlaps the previous one or its gap`);
      if ('index' in f.target) {
        const n = f.target.role === 'slave' ? base.slaves : f.target.role === 'master' ? base.masters : base.marathons;
        if (f.target.index < 0 || f.target.index >= n) t.fail(`fault ${i}: target ${f.target.role}-${f.target.index} does not exist`);
      }
    });
    t.pass(`seed ${seed}: ${s.length} faults checked`);
  }
});

t.test('durations outlast the timeouts they must trip', async (t) => {
  const s = generateSchedule({ ...base, durationMs: 3_600_000 });
  const of = (kind: string) => s.filter((f) => f.kind === kind);
  for (const kind of FAULT_KINDS) t.ok(of(kind).length > 0, `${kind} occurs in an hour`);
  t.ok(of('master-pause').every((f) => f.duration_ms > base.timeouts.zkSessionTimeoutMs), 'a master pause outlasts the ZooKeeper session');
  t.ok(of('zk-expire-leader').every((f) => f.duration_ms > base.timeouts.zkSessionTimeoutMs), 'a ZooKeeper blackhole outlasts the session');
  t.ok(of('zk-expire-leader').every((f) => 'leader' in f.target), 'session expiry hits the leader');
  t.ok([...of('slave-pause'), ...of('proxy-drop')].every((f) => f.duration_ms > base.timeouts.agentPingBudgetMs), 'a slave pause or drop outlasts the ping budget');
  t.ok(of('proxy-delay').every((f) => (f.latency_ms ?? 0) > 0), 'a delay has a latency');
  t.ok(of('proxy-cut').every((f) => f.duration_ms === 0), 'a cut is instantaneous');
  t.ok(of('master-kill').some((f) => 'leader' in f.target) && of('master-kill').some((f) => 'index' in f.target), 'master kills hit the leader and others');
});

t.test('only the allowed kinds are scheduled; counts cover every kind', async (t) => {
  const s = generateSchedule({ ...base, kinds: ['proxy-cut', 'master-kill'] });
  t.ok(s.every((f) => f.kind === 'proxy-cut' || f.kind === 'master-kill'));
  const counts = countByKind(s);
  t.same(Object.keys(counts).sort(), [...FAULT_KINDS].sort(), 'every kind has a count');
  t.equal(counts['proxy-cut'] + counts['master-kill'], s.length);
  t.equal(counts['slave-kill'], 0);
});

t.test('bad options are refused with a clear error', async (t) => {
  const bad = (o: Partial<ScheduleOptions>, re: RegExp): void => {
    try {
      generateSchedule({ ...base, ...o });
      t.fail(`accepted ${JSON.stringify(o)}`);
    } catch (err) {
      t.ok(err instanceof AgoraError && err.code === 'AGORA_CHAOS_OPTIONS_INVALID', 'an AgoraError AGORA_CHAOS_OPTIONS_INVALID');
      t.match((err as Error).message, re);
    }
  };
  bad({ seed: 1.5 }, /seed must be an integer/);
  bad({ durationMs: 0 }, /duration must be positive/);
  bad({ kinds: [] }, /at least one fault kind/);
  bad({ kinds: ['nope' as never] }, /unknown fault kind "nope"/);
  bad({ slaves: 0 }, /at least one slave/);
  bad({ marathons: 0, kinds: ['marathon-kill'] }, /marathon-kill needs a Marathon/);
  bad({ gapMs: { min: 5, max: 1 } }, /gap/);
});

t.test('parseFaultKinds', async (t) => {
  t.same(parseFaultKinds('all'), [...FAULT_KINDS]);
  t.same(parseFaultKinds('proxy-cut, master-kill,proxy-cut'), ['proxy-cut', 'master-kill'], 'trimmed, deduplicated');
  t.throws(() => parseFaultKinds('proxy-cut,bogus'), /unknown bogus/);
  t.throws(() => parseFaultKinds(''), /none given/);
});

t.test('the CI seeds (1 and 13, ci profile) exercise every fault kind between them', async (t) => {
  const { CI_PROFILE, CHAOS_TIMEOUTS } = await import('../../bench/chaos/profiles.js');
  const kinds = new Set([1, 13].flatMap((seed) => generateSchedule({ ...CI_PROFILE, seed, timeouts: CHAOS_TIMEOUTS }).map((f) => f.kind)));
  t.same([...kinds].sort(), [...FAULT_KINDS].sort());
});
