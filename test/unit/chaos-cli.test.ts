/**
 * `agora chaos` / `bench/chaos.js` options (bench/chaos/cli.ts): profiles, overrides, and
 * clear errors for bad input.
 */
import t from 'tap';
import { chaosOptionsFromFlags } from '../../bench/chaos/cli.js';
import { CI_PROFILE, LONG_PROFILE } from '../../bench/chaos/profiles.js';
import { AgoraError } from '../../sdk/core/errors.js';

const out = (): void => undefined;

t.test('defaults: the long profile and a random seed', async (t) => {
  const o = chaosOptionsFromFlags({}, out);
  t.equal(o.durationMs, LONG_PROFILE.durationMs);
  t.equal(o.slaves, 3);
  t.equal(o.marathons, 2);
  t.ok(Number.isInteger(o.seed) && o.seed > 0, 'a seed is drawn');
  t.equal(o.partitionAware, true);
});

t.test('the ci profile replays the CI run; flags override it', async (t) => {
  const o = chaosOptionsFromFlags({ profile: 'ci', seed: '2' }, out);
  t.equal(o.seed, 2);
  t.same({ ...o, seed: undefined, out: undefined, partitionAware: undefined }, { ...CI_PROFILE, seed: undefined, out: undefined, partitionAware: undefined }, 'exactly the CI settings');
  const p = chaosOptionsFromFlags({ profile: 'ci', duration: '10m', slaves: '4', faults: 'proxy-cut', converge: '30s', partitionAware: false }, out);
  t.equal(p.durationMs, 600_000);
  t.equal(p.slaves, 4);
  t.same(p.kinds, ['proxy-cut']);
  t.equal(p.convergeBoundMs, 30_000);
  t.equal(p.partitionAware, false);
});

t.test('bad flags are refused with a clear error', async (t) => {
  const bad = (flags: Record<string, string>, re: RegExp): void => {
    try {
      chaosOptionsFromFlags(flags, out);
      t.fail(`accepted ${JSON.stringify(flags)}`);
    } catch (err) {
      t.ok(err instanceof AgoraError, 'an AgoraError');
      t.match((err as Error).message, re);
    }
  };
  bad({ profile: 'huge' }, /unknown --profile "huge"/);
  bad({ seed: 'abc' }, /--seed must be an integer/);
  bad({ seed: '-1' }, /--seed must be an integer/);
  bad({ slaves: '0' }, /--slaves must be an integer from 1/);
  bad({ marathons: '2.5' }, /--marathons/);
  bad({ duration: '30' }, /invalid duration "30"/);
  bad({ faults: 'slave-kill,meteor' }, /unknown meteor/);
});
