/**
 * `agora chaos` on the command line: bad options exit 2 with a clear message and start
 * nothing. (The runs themselves are test/chaos/chaos.test.ts.) Needs the build.
 */
import t from 'tap';
import { spawnAgora } from '../helpers/agora-process.js';

const cases: Array<[string[], RegExp]> = [
  [['--slaves', '0'], /--slaves must be an integer from 1 to 20 \(got "0"\)/],
  [['--duration', '30'], /invalid duration "30"/],
  [['--faults', 'slave-kill,meteor'], /unknown meteor/],
  [['--profile', 'huge'], /unknown --profile "huge"/],
];

for (const [args, message] of cases) {
  t.test(`agora chaos ${args.join(' ')}`, async (t) => {
    const p = spawnAgora(['chaos', ...args], { t, name: 'chaos' });
    const exit = await p.waitForExit(30_000);
    t.equal(exit.code, 2, 'exits 2');
    t.match(p.stderr, message);
    t.equal(p.stdout, '', 'prints no run log: nothing started');
  });
}

t.test('agora chaos --help lists the fault kinds', async (t) => {
  const p = spawnAgora(['chaos', '--help'], { t, name: 'chaos' });
  const exit = await p.waitForExit(30_000);
  t.equal(exit.code, 0);
  t.match(p.stdout, /zk-expire-leader/);
  t.match(p.stdout, /--seed <n>/);
});
