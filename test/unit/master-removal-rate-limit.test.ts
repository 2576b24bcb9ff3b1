/**
 * The agent-removal rate limit (master/removal-rate-limit.ts): `<N>/<duration>` parsing and
 * the queue that releases one removal per duration ÷ N, driven by a ManualClock whose
 * timer re-arms the release like the master does.
 */
import t from 'tap';
import { parseRemovalRateLimit, RemovalQueue } from '../../master/removal-rate-limit.js';
import { ManualClock } from './scheduler-helpers.js';

t.test('parses <N>/<duration>', async (t) => {
  t.same(parseRemovalRateLimit('1/10secs'), { permits: 1, periodMs: 10_000, text: '1/10secs' });
  t.same(parseRemovalRateLimit('2/3hrs'), { permits: 2, periodMs: 3 * 3_600_000, text: '2/3hrs' });
  t.same(parseRemovalRateLimit('5/1mins'), { permits: 5, periodMs: 60_000, text: '5/1mins' });
  t.same(parseRemovalRateLimit('1/10s'), { permits: 1, periodMs: 10_000, text: '1/10s' }, 'the short form the issue writes');
});

t.test('malformed rates fail with the reason', async (t) => {
  for (const [bad, why] of [
    ['', /exactly one "\/"/],
    ['10secs', /exactly one "\/"/],
    ['1/2/3secs', /exactly one "\/"/],
    ['0/10secs', /at least 1/],
    ['-1/10secs', /whole number/],
    ['1.5/10secs', /whole number/],
    ['x/10secs', /whole number/],
    ['1/10', /invalid duration/],
    ['1/10parsecs', /unknown unit/],
    ['1/0secs', /must be positive/],
  ] as const) {
    t.throws(() => parseRemovalRateLimit(bad), { code: 'AGORA_MASTER_BAD_OPTION', message: why }, JSON.stringify(bad));
  }
});

t.test('without a limit everything queued goes at once', async (t) => {
  const q = new RemovalQueue<string>(undefined);
  t.ok(q.enqueue('a', 'why a'));
  t.ok(q.enqueue('b', 'why b'));
  t.notOk(q.enqueue('a', 'again'), 'a second request for a queued agent changes nothing');
  t.equal(q.nextReleaseAt(100), 100);
  t.same(q.release(100), [['a', 'why a'], ['b', 'why b']]);
  t.equal(q.size, 0);
  t.equal(q.nextReleaseAt(100), undefined);
});

/** Runs the queue the way master/agents.ts does: release now, then a timer for the next. */
function drive(q: RemovalQueue<string>, clock: ManualClock, released: Array<[string, number]>): () => void {
  let timer: { cancel(): void } | undefined;
  const pump = (): void => {
    for (const [id] of q.release(clock.now())) released.push([id, clock.now()]);
    timer?.cancel();
    timer = undefined;
    const next = q.nextReleaseAt(clock.now());
    if (next !== undefined) timer = clock.setTimeout(pump, next - clock.now());
  };
  return pump;
}

t.test('1/10secs releases one removal per 10 seconds, in arrival order', async (t) => {
  const clock = new ManualClock();
  const q = new RemovalQueue<string>(parseRemovalRateLimit('1/10secs'));
  t.equal(q.intervalMs, 10_000);
  const released: Array<[string, number]> = [];
  const pump = drive(q, clock, released);
  for (const id of ['s1', 's2', 's3']) q.enqueue(id, `removing ${id}`);
  pump();
  t.same(released, [['s1', 0]], 'the first goes at once');
  clock.advance(9_999);
  t.same(released, [['s1', 0]], 'nothing more within the period');
  clock.advance(1);
  t.same(released, [['s1', 0], ['s2', 10_000]]);
  clock.advance(10_000);
  t.same(released, [['s1', 0], ['s2', 10_000], ['s3', 20_000]]);
  t.equal(q.size, 0);

  // After a quiet spell longer than the period the next one goes at once again.
  clock.advance(60_000);
  q.enqueue('s4', 'x');
  pump();
  t.same(released.at(-1), ['s4', 80_000]);
});

t.test('2/10secs spaces releases 5 seconds apart', async (t) => {
  const clock = new ManualClock();
  const q = new RemovalQueue<string>(parseRemovalRateLimit('2/10secs'));
  const released: Array<[string, number]> = [];
  const pump = drive(q, clock, released);
  for (const id of ['a', 'b', 'c']) q.enqueue(id, id);
  pump();
  clock.advance(10_000);
  t.same(released, [['a', 0], ['b', 5_000], ['c', 10_000]]);
});

t.test('an agent that comes back while queued is not removed', async (t) => {
  const clock = new ManualClock();
  const q = new RemovalQueue<string>(parseRemovalRateLimit('1/10secs'));
  const released: Array<[string, number]> = [];
  const pump = drive(q, clock, released);
  for (const id of ['a', 'b', 'c']) q.enqueue(id, id);
  pump();
  t.ok(q.has('b'));
  t.ok(q.cancel('b'), 'b answered a ping');
  t.notOk(q.cancel('b'), 'cancelling twice is harmless');
  t.notOk(q.cancel('never-queued'));
  clock.advance(30_000);
  t.same(released, [['a', 0], ['c', 10_000]], 'c takes b\'s slot; b is never released');
});

t.test('a release asked for early gives nothing and names the right time', async (t) => {
  const q = new RemovalQueue<string>(parseRemovalRateLimit('1/1mins'));
  q.enqueue('a', 'a');
  q.enqueue('b', 'b');
  t.same(q.release(1_000).map(([id]) => id), ['a']);
  t.same(q.release(30_000), []);
  t.equal(q.nextReleaseAt(30_000), 61_000);
  t.same(q.release(61_000).map(([id]) => id), ['b']);
});

t.test('agora master refuses a malformed --agent-removal-rate-limit before starting anything', async (t) => {
  const { masterCommand } = await import('../../bin/commands/master.js');
  let stderr = '';
  const cmd = masterCommand().exitOverride().configureOutput({ writeErr: (s) => { stderr += s; }, writeOut: () => undefined });
  await t.rejects(
    cmd.parseAsync(['--work-dir', '/nonexistent/agora', '--agent-removal-rate-limit', '1/10parsecs'], { from: 'user' }),
    { code: 'commander.invalidArgument' },
  );
  t.match(stderr, /--agent-removal-rate-limit.*unknown unit/s);
});
