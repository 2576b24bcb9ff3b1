/**
 * `agora slave --emulate 50` (the built CLI, real processes): 50 emulated agents register
 * at a real master, an SDK framework runs simulated tasks on them, SIGTERM exits cleanly;
 * bad --emulate and --sim-* values are refused with a clear message.
 */
import t from 'tap';
import type { Offer, TaskInfo } from '../../sdk/protocol/index.js';
import { commandTask, matchResources } from '../../sdk/scheduler/index.js';
import { spawnAgora, startAgora } from '../helpers/agora-process.js';
import { tempWorkDir } from '../helpers/cluster.js';
import { TestFramework } from '../helpers/framework.js';
import { getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

/** A generous failure bound, not a timing assertion. */
const SOON = 60_000;
const N = 50;

t.test('50 emulated agents register, run tasks, and stop on SIGTERM', async (t) => {
  const workDir = tempWorkDir(t, 'agora-emulate-');
  const master = await startAgora(['master', '--port', '0', '--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1', '--work-dir', workDir], { t, name: 'master' });
  const masterAddress = `127.0.0.1:${master.port}`;
  const emu = spawnAgora([
    'slave', '--master', masterAddress, '--emulate', String(N), '--emulate-spread', '500ms', '--port', '0', '--bind', '127.0.0.1',
    '--hostname', 'emu-it', '--resources', 'cpus:2;mem:1024', '--attributes', 'rack:r1', '--sim-task-duration', '100ms', '--sim-seed', '5',
  ], { t, name: 'emulator' });
  const port = await emu.waitListening(SOON);
  await emu.waitForLog((l) => l.msg === 'all emulated agents registered' && l.count === N, SOON, 'all emulated agents registered');

  const slaves = await getJson(`http://${masterAddress}/master/slaves`);
  const list = slaves.body.slaves as Array<{ id: string; hostname: string; active: boolean; resources: { cpus: number; mem: number }; attributes: Record<string, unknown> }>;
  t.equal(list.length, N, `the master lists ${N} agents`);
  t.equal(list.filter((s) => s.active).length, N, 'all active');
  t.same([...new Set(list.map((s) => s.id))].length, N, 'each with its own agent id');
  t.same(list.map((s) => s.hostname).sort(), Array.from({ length: N }, (_, i) => `emu-it-${i}`).sort(), 'hostnames <prefix>-<i>');
  t.ok(list.every((s) => s.resources.cpus === 2 && s.resources.mem === 1024), 'each has the --resources given');
  t.ok(list.every((s) => s.attributes.rack === 'r1'), 'and the --attributes');

  const state = await getJson(`http://127.0.0.1:${port}/state`);
  t.equal(state.body.emulated, N);
  t.equal(state.body.connected, N, 'the emulator\'s /state shows every agent connected');

  // Tasks on 10 different agents: the default duration (--sim-task-duration 100ms) ends them; one labelled to fail.
  const f = await TestFramework.start(t, masterAddress);
  const used = new Set<string>();
  const launched: string[] = [];
  while (launched.length < 10) {
    const offer: Offer = await f.offer((o) => !used.has(o.agent_id.value), SOON, 'an offer from an unused agent');
    used.add(offer.agent_id.value);
    f.used(offer.id.value);
    const taskId = `emu-task-${launched.length}`;
    const task: TaskInfo = commandTask({
      taskId, agentId: offer.agent_id.value, command: 'never runs', resources: matchResources(offer.resources ?? [], { cpus: 1, mem: 128 })!,
      ...(launched.length === 0 ? { labels: { 'agora.sim.exit_code': '4' } } : {}),
    });
    await f.scheduler.launch([offer.id.value], [task]);
    launched.push(taskId);
  }
  const failed = await f.waitForState('emu-task-0', 'TASK_FAILED', SOON);
  t.equal(failed.message, 'Command exited with status 4');
  for (const id of launched.slice(1)) {
    await f.waitForState(id, 'TASK_FINISHED', SOON);
    t.same(f.statesOf(id), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'], `${id}: STARTING, RUNNING, FINISHED`);
  }

  emu.signal('SIGTERM');
  const exit = await emu.waitForExit(SOON);
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: exits 0');
  // The master marks each disconnected agent inactive (it may be processing the closes still).
  const gone = await waitFor(async () => {
    const after = await getJson(`http://${masterAddress}/master/slaves`);
    const active = (after.body.slaves as Array<{ active: boolean }>).filter((s) => s.active).length;
    return active === 0 ? true : undefined;
  }, { timeoutMs: SOON, what: 'the master to mark every emulated agent inactive' });
  t.ok(gone, 'the master saw every agent go');
});

t.test('bad --emulate and --sim-* values are refused', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--emulate', '0'], /--emulate.*integer ≥ 1/],
    [['--emulate', 'many'], /--emulate.*integer ≥ 1/],
    [['--emulate', '200000'], /emulate must be an integer 1\.\.100000/],
    [['--emulate', '2', '--emulate-spread', 'slow'], /--emulate-spread.*invalid duration/],
    [['--emulate', '2', '--containerizer', 'posix'], /cannot be combined with --containerizer posix/],
    [['--emulate-spread', '1s', '--work-dir', '/tmp/x'], /--emulate-spread needs --emulate/],
    [['--emulate', '2', '--sim-failure-rate', '1.5'], /--sim-failure-rate.*from 0 to 1/],
    [['--emulate', '2', '--sim-exit-code', '300'], /--sim-exit-code.*0\.\.255/],
    [['--emulate', '2', '--sim-task-duration', 'later'], /--sim-task-duration.*invalid duration/],
    [['--emulate', '2', '--resources', 'cpus:lots'], /emulated slaves failed to start/],
    [['--containerizer', 'docker', '--work-dir', '/tmp/x'], /--containerizer.*docker/],
  ];
  for (const [args, re] of cases) {
    const p = spawnAgora(['slave', '--master', '127.0.0.1:1', '--port', '0', ...args], { t, name: 'bad-slave' });
    const exit = await p.waitForExit(SOON);
    t.not(exit.code, 0, `${args.join(' ')}: exits non-zero`);
    t.match(p.stderrLines.filter(() => true).join('\n'), re, `${args.join(' ')}: says why`);
  }
});
