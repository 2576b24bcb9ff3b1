/**
 * The task launchers with real processes: the native helper, the perl helper and Node's
 * spawn keep the same contract (new session, cwd, exact environment, argv0, PATH lookup,
 * appended stdout/stderr, exit codes and signals, errno-named failures), and the helpers'
 * own failure modes (they ignore group signals, a helper that dies leaves its tasks watched,
 * a launch stuck before exec holds back no other, a helper that cannot start means the
 * fallback).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { systemClock } from '../../sdk/core/clock.js';
import { silentLogger } from '../../sdk/core/log.js';
import { HelperTaskLauncher, type HelperProgram } from '../../slave/executor/helper-launcher.js';
import { nativeHelper, nativeLauncherBuilt } from '../../slave/executor/native-launcher.js';
import { perlHelper } from '../../slave/executor/perl-launcher.js';
import { packageRoot } from '../../slave/paths.js';
import { readProcessIdentity } from '../../slave/process-tree.js';
import { NodeTaskLauncher, createTaskLauncher, taskLauncherKind, type TaskLauncher, type TaskProcessExit, type TaskProcessSpec } from '../../slave/executor/task-launcher.js';
import { pollFor, within } from './executor-fake-slave.js';

const PATH = process.env.PATH ?? '/usr/bin:/bin';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-launcher-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function spec(dir: string, file: string, args: string[], extra: Partial<TaskProcessSpec> = {}): TaskProcessSpec {
  return { file, args, argv0: file, cwd: dir, env: { PATH }, stdoutPath: path.join(dir, 'stdout'), stderrPath: path.join(dir, 'stderr'), ...extra };
}

/** Fields 5 and 6 of /proc/<pid>/stat: process group and session. */
const groupAndSession = (statText: string): [number, number] => {
  const f = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  return [Number(f[2]), Number(f[3])];
};

/** The native helper is built by `npm run build` wherever a C compiler is found. */
const nativeBuilt = nativeLauncherBuilt();
const compilerFound = ['cc', 'gcc', 'clang'].some((cc) => spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0);

t.test('the build made the native helper, as it does wherever a C compiler is found', { skip: compilerFound ? false : 'no C compiler here' }, async (t) => {
  t.ok(nativeBuilt, 'dist/slave/executor/agora-launcher exists and is executable');
});

t.test('the build goes on without a C compiler (the perl helper then starts tasks)', async (t) => {
  const before = nativeBuilt ? fs.statSync(nativeHelper().file).mtimeMs : undefined;
  const script = path.join(packageRoot(), 'scripts', 'build-launcher.mjs');
  const run = spawnSync(process.execPath, [script], { env: { ...process.env, CC: '/nonexistent/cc' }, encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stderr, /build-launcher: no C compiler \(\/nonexistent\/cc\); tasks will be started by the perl helper/);
  if (before !== undefined) t.equal(fs.statSync(nativeHelper().file).mtimeMs, before, 'a helper built before is left as it is');
});

const helpers: Array<[string, () => HelperProgram, string | false]> = [
  ['native', () => nativeHelper(), nativeBuilt ? false : 'the native helper was not built (no C compiler)'],
  ['perl', () => perlHelper(), false],
];

const helperLauncher = (helper: HelperProgram): HelperTaskLauncher =>
  new HelperTaskLauncher({ clock: systemClock, logger: silentLogger(), helper, fallback: new NodeTaskLauncher() });

const launchers: Array<[string, () => TaskLauncher, string | false]> = [
  ...helpers.map(([name, program, skip]): [string, () => TaskLauncher, string | false] => [name, () => helperLauncher(program()), skip]),
  ['node', () => new NodeTaskLauncher(), false],
];

for (const [name, make, skip] of launchers) {
  t.test(`${name} launcher`, { skip }, async (t) => {
    const launcher = make();
    t.teardown(() => launcher.close());
    // The helpers SIGKILL the rest of a task's group as they reap it, and say so.
    const ended = (code: number | null, signal: NodeJS.Signals | null): TaskProcessExit => ({ code, signal, ...(name === 'node' ? {} : { groupKilled: true }) });

    t.test('exit status 0 and N, in a new session, stdout and stderr appended', async (t) => {
      const dir = tempDir(t);
      const p = await launcher.launch(spec(dir, '/bin/sh', ['-c', 'cat /proc/$$/stat > stat; echo out; echo err >&2; exit 3'], { argv0: 'sh' }));
      t.same(await within(p.exited, 10_000, 'exit'), ended(3, null), 'exit status 3');
      t.same(groupAndSession(fs.readFileSync(path.join(dir, 'stat'), 'utf8')), [p.pid, p.pid], 'it leads its own process group and session');
      const q = await launcher.launch(spec(dir, '/bin/sh', ['-c', 'echo again; echo again >&2'], { argv0: 'sh' }));
      t.same(await within(q.exited, 10_000, 'exit'), ended(0, null), 'exit status 0');
      t.equal(fs.readFileSync(path.join(dir, 'stdout'), 'utf8'), 'out\nagain\n', 'stdout appended');
      t.equal(fs.readFileSync(path.join(dir, 'stderr'), 'utf8'), 'err\nagain\n', 'stderr appended');
    });

    t.test('exactly the given environment, argv0, PATH from that environment, cwd', async (t) => {
      const dir = tempDir(t);
      const p = await launcher.launch(spec(dir, 'sh', ['-c', 'echo "$0|$(pwd)"; env -0 > env0'], { argv0: 'my-task', env: { PATH, A: '1', B: 'x y=z' } }));
      t.same(await within(p.exited, 10_000, 'exit'), ended(0, null));
      t.equal(fs.readFileSync(path.join(dir, 'stdout'), 'utf8'), `my-task|${dir}\n`, 'argv0 and cwd');
      const env = fs.readFileSync(path.join(dir, 'env0'), 'utf8').split('\0').filter((l) => l !== '').sort();
      // sh adds PWD (and may add SHLVL/_); tap's process-info hook adds its own variables to
      // what node:child_process spawns. Nothing of the test runner's environment leaks in.
      t.same(env.filter((l) => !/^(PWD|SHLVL|_|_TAPJS_\w+|NODE_OPTIONS)=/.test(l)), ['A=1', 'B=x y=z', `PATH=${PATH}`]);
    });

    t.test('a signal ends it: SIGTERM is not ignored by the task', async (t) => {
      const dir = tempDir(t);
      const p = await launcher.launch(spec(dir, 'sleep', ['30']));
      process.kill(-p.pid, 'SIGTERM');
      t.same(await within(p.exited, 10_000, 'exit'), ended(null, 'SIGTERM'));
    });

    t.test('makeCwd creates the sandbox; without it a missing cwd fails', async (t) => {
      const dir = tempDir(t);
      const sandbox = path.join(dir, 'tasks', 't1');
      await t.rejects(launcher.launch(spec(sandbox, '/bin/true', [])), { code: 'AGORA_TASK_LAUNCH_FAILED', message: /ENOENT/ });
      const p = await launcher.launch(spec(sandbox, '/bin/true', [], { makeCwd: true }));
      t.same(await within(p.exited, 10_000, 'exit'), ended(0, null));
      t.ok(fs.existsSync(path.join(sandbox, 'stdout')), 'the sandbox and its stdout exist');
    });

    t.test('a program that does not exist is an ENOENT launch failure', async (t) => {
      const dir = tempDir(t);
      await t.rejects(launcher.launch(spec(dir, 'no-such-program-xyz', [])), { code: 'AGORA_TASK_LAUNCH_FAILED', message: /spawn no-such-program-xyz ENOENT/ });
    });

    t.test('a file without #! runs with /bin/sh (as execvp); one that may not be executed is EACCES', async (t) => {
      const dir = tempDir(t);
      const script = path.join(dir, 'script');
      fs.writeFileSync(script, 'echo "script ran: $1"\n', { mode: 0o755 });
      const p = await launcher.launch(spec(dir, script, ['x'], { argv0: 'script' }));
      t.same(await within(p.exited, 10_000, 'exit'), ended(0, null));
      t.equal(fs.readFileSync(path.join(dir, 'stdout'), 'utf8'), 'script ran: x\n');
      const plain = path.join(dir, 'plain');
      fs.writeFileSync(plain, 'echo no\n', { mode: 0o644 });
      await t.rejects(launcher.launch(spec(dir, plain, [])), { code: 'AGORA_TASK_LAUNCH_FAILED', message: /EACCES/ });
    });

    t.test('many launches at once', async (t) => {
      const dir = tempDir(t);
      const procs = await Promise.all(Array.from({ length: 40 }, (_, i) => launcher.launch(spec(path.join(dir, `t${i}`), '/bin/sh', ['-c', `exit ${i % 5}`], { makeCwd: true }))));
      t.equal(new Set(procs.map((p) => p.pid)).size, 40, 'distinct pids');
      const exits = await within(Promise.all(procs.map((p) => p.exited)), 30_000, 'every exit');
      t.same(exits.map((e) => e.code), Array.from({ length: 40 }, (_, i) => i % 5), 'each exit status goes to its own process');
    });
  });
}

for (const [name, program, skip] of helpers) {
  t.test(`${name} helper: a mixed flood (exits, signals, failed starts, launches stuck on FIFOs) settles each launch once, with its own outcome`, { skip }, async (t) => {
    const launcher = helperLauncher(program());
    t.teardown(() => launcher.close());
    const dir = tempDir(t);
    const fifos = Array.from({ length: 4 }, (_, i) => path.join(dir, `fifo-${i}`));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    // 240 launches at once: exit codes 0–6, SIGKILL of itself, a program that is not there,
    // and every 60th stuck before its exec on a FIFO nobody reads yet.
    const kinds = Array.from({ length: 240 }, (_, i) => (i % 60 === 59 ? 'fifo' : (['exit', 'signal', 'missing'] as const)[i % 3]!));
    const launches = kinds.map((kind, i) => {
      const sandbox = path.join(dir, `t${i}`);
      if (kind === 'missing') return launcher.launch(spec(sandbox, `no-such-program-${i}`, [], { makeCwd: true }));
      const script = kind === 'signal' ? 'kill -9 $$' : `exit ${i % 7}`;
      const stdoutPath = kind === 'fifo' ? fifos[Math.floor(i / 60)]! : path.join(sandbox, 'stdout');
      return launcher.launch(spec(sandbox, '/bin/sh', ['-c', script], { argv0: 'sh', makeCwd: true, stdoutPath }));
    });
    const settled = launches.map((p) => p.then((proc) => ({ proc }), (err: Error) => ({ err })));
    const notStuck = await within(Promise.all(settled.filter((_, i) => kinds[i] !== 'fifo')), 30_000, 'every launch not stuck');
    const readers = fifos.map((fifo) => fs.createReadStream(fifo));
    t.teardown(() => { for (const r of readers) r.destroy(); });
    const stuck = await within(Promise.all(settled.filter((_, i) => kinds[i] === 'fifo')), 30_000, 'the launches stuck on FIFOs, once read');
    const outcomes = [...notStuck, ...stuck];
    const order = [...kinds.keys()].filter((i) => kinds[i] !== 'fifo').concat([...kinds.keys()].filter((i) => kinds[i] === 'fifo'));
    const exits = await within(Promise.all(outcomes.map((o) => ('proc' in o ? o.proc.exited : Promise.resolve(undefined)))), 30_000, 'every exit');
    let wrong = 0;
    order.forEach((i, k) => {
      const o = outcomes[k]!;
      const kind = kinds[i]!;
      if (kind === 'missing') {
        if (!('err' in o) || !/ENOENT/.test(o.err.message)) wrong++;
        return;
      }
      const expected = kind === 'signal' ? { code: null, signal: 'SIGKILL', groupKilled: true } : { code: i % 7, signal: null, groupKilled: true };
      if (!('proc' in o) || JSON.stringify(exits[k]) !== JSON.stringify(expected)) wrong++;
    });
    t.equal(wrong, 0, 'each of the 240 launches has its own outcome');
    t.equal(new Set(outcomes.flatMap((o) => ('proc' in o ? [o.proc.pid] : []))).size, kinds.filter((k) => k !== 'missing').length, 'distinct pids');
  });

  t.test(`${name} helper: what is left of an ended task's process group is SIGKILLed as the task is reaped`, { skip }, async (t) => {
    const launcher = helperLauncher(program());
    t.teardown(() => launcher.close());
    const dir = tempDir(t);
    // The task leaves a process behind in its group (no job control: same group) and ends.
    const p = await launcher.launch(spec(dir, '/bin/sh', ['-c', 'sleep 60 & echo $! > left; exit 0'], { argv0: 'sh' }));
    t.same(await within(p.exited, 10_000, 'exit'), { code: 0, signal: null, groupKilled: true }, 'the exit says the group was killed');
    const left = Number(fs.readFileSync(path.join(dir, 'left'), 'utf8'));
    t.teardown(() => { try { process.kill(left, 'SIGKILL'); } catch { /* gone, as it should be */ } });
    await pollFor(() => { const identity = readProcessIdentity(left); return identity === undefined || identity.state === 'Z'; }, 'the process left behind to be killed');
    t.pass('the process it left behind is gone');
  });

  t.test(`${name} helper: it ignores SIGTERM, restarts after dying, and watches the tasks of a dead helper`, { skip }, async (t) => {
    const launcher = helperLauncher(program());
    t.teardown(() => launcher.close());
    const dir = tempDir(t);
    const first = await launcher.launch(spec(dir, 'sleep', ['30']));
    const helper = launcher.helperPid!;
    t.ok(helper > 0, 'a helper runs');
    process.kill(helper, 'SIGTERM');
    const second = await launcher.launch(spec(dir, '/bin/true', []));
    t.same(await within(second.exited, 10_000, 'exit'), { code: 0, signal: null, groupKilled: true }, 'still launching after SIGTERM');
    t.equal(launcher.helperPid, helper, 'the same helper');

    process.kill(helper, 'SIGKILL');
    await pollFor(() => launcher.helperPid === undefined, 'the launcher to notice its helper died');
    const third = await launcher.launch(spec(dir, '/bin/true', []));
    t.same(await within(third.exited, 10_000, 'exit'), { code: 0, signal: null, groupKilled: true }, 'a new helper launches');
    t.not(launcher.helperPid, helper, 'it is a new process');

    let firstEnded = false;
    void first.exited.then(() => { firstEnded = true; });
    t.notOk(firstEnded, 'the orphaned task still runs');
    process.kill(-first.pid, 'SIGKILL');
    t.same(await within(first.exited, 10_000, 'orphan exit'), { code: null, signal: null }, 'its end is noticed, with an unknown status');
  });

  t.test(`${name} helper: a launch stuck before exec does not hold back the next ones`, { skip }, async (t) => {
    const launcher = helperLauncher(program());
    t.teardown(() => launcher.close());
    const dir = tempDir(t);
    // Opening a FIFO for writing blocks until a reader comes: the first child stays between
    // fork and exec (the helper answered launches one after another before: all would wait).
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    let stuckStarted = false;
    const stuck = launcher.launch(spec(dir, '/bin/sh', ['-c', 'exit 7'], { argv0: 'sh', stdoutPath: fifo }));
    void stuck.then(() => { stuckStarted = true; }, () => undefined);
    const others = await within(Promise.all([
      launcher.launch(spec(dir, '/bin/sh', ['-c', 'exit 2'], { argv0: 'sh' })),
      launcher.launch(spec(dir, 'no-such-program-xyz', [])).then(() => 'started', (e: Error) => e.message),
      launcher.launch(spec(dir, '/bin/true', [])),
    ]), 10_000, 'the launches behind the stuck one');
    t.same(await within(others[0].exited, 10_000, 'exit'), { code: 2, signal: null, groupKilled: true }, 'a later task started and ended');
    t.match(others[1], /spawn no-such-program-xyz ENOENT \(exec: /, 'a later failed start is reported with its step');
    t.same(await within(others[2].exited, 10_000, 'exit'), { code: 0, signal: null, groupKilled: true }, 'and the one after it ran');
    t.notOk(stuckStarted, 'the stuck launch is still waiting for its exec');
    // A reader unblocks it; its start is reported before its end.
    const reader = fs.createReadStream(fifo);
    t.teardown(() => reader.destroy());
    const p = await within(stuck, 10_000, 'the stuck launch');
    t.same(await within(p.exited, 10_000, 'exit'), { code: 7, signal: null, groupKilled: true }, 'it started and its exit status is its own');
  });

  t.test(`${name} helper: when it cannot start, every launch goes to the fallback`, async (t) => {
    const launcher = helperLauncher({ ...program(), file: '/nonexistent/helper' });
    t.teardown(() => launcher.close());
    const dir = tempDir(t);
    const [a, b] = await Promise.all([launcher.launch(spec(dir, '/bin/true', [])), launcher.launch(spec(dir, '/bin/sh', ['-c', 'exit 4']))]);
    t.same(await within(Promise.all([a.exited, b.exited]), 10_000, 'exits'), [{ code: 0, signal: null }, { code: 4, signal: null }], 'launched by the fallback');
    const c = await launcher.launch(spec(dir, '/bin/true', []));
    t.same(await within(c.exited, 10_000, 'exit'), { code: 0, signal: null }, 'and later launches too');
    t.equal(launcher.helperPid, undefined, 'no helper');
  });

  t.test(`${name} helper: NUL bytes are refused before anything starts`, { skip }, async (t) => {
    const launcher = helperLauncher(program());
    t.teardown(() => launcher.close());
    await t.rejects(launcher.launch(spec(os.tmpdir(), '/bin/echo', ['a\0b'])), { code: 'AGORA_TASK_LAUNCH_FAILED', message: /NUL/ });
    await t.rejects(launcher.launch(spec(os.tmpdir(), '/bin/true', [], { env: { PATH, V: 'a\0b' } })), { code: 'AGORA_TASK_LAUNCH_FAILED', message: /NUL/ }, 'in a value');
    await t.rejects(launcher.launch(spec(os.tmpdir(), '/bin/true', [], { env: { PATH, 'V\0W': 'a' } })), { code: 'AGORA_TASK_LAUNCH_FAILED', message: /NUL/ }, 'in a name');
  });

  t.test(`${name} helper: each launch gets its own values of the variables the last one had`, { skip }, async (t) => {
    const launcher = helperLauncher(program());
    t.teardown(() => launcher.close());
    const dir = tempDir(t);
    // The helper launcher reuses the encoding of unchanged variables: a changed value must not be missed.
    for (const value of ['one', 'two', 'two', 'three']) {
      const p = await launcher.launch(spec(dir, '/bin/sh', ['-c', 'echo "$V$W"'], { argv0: 'sh', env: { PATH, V: value, ...(value === 'two' ? { W: '+' } : {}) } }));
      await within(p.exited, 10_000, 'exit');
    }
    t.equal(fs.readFileSync(path.join(dir, 'stdout'), 'utf8'), 'one\ntwo+\ntwo+\nthree\n');
  });
}

t.test('native helper: a malformed request is skipped with a message; a length that is not one ends it', { skip: nativeBuilt ? false : 'not built' }, async (t) => {
  const dir = tempDir(t);
  const request = (fields: string[]): string => {
    const body = Buffer.from(fields.join('\0'));
    return `${body.length}\n${body.toString()}`;
  };
  const good = request(['7', '/bin/sh', 'sh', dir, '0', path.join(dir, 'stdout'), path.join(dir, 'stderr'), '2', '-c', 'exit 6', `PATH=${PATH}`]);
  const tooFew = request(['1', '/bin/true']);
  const badCount = request(['2', '/bin/true', 'true', dir, '0', 'o', 'e', '9']);
  const run = spawnSync(nativeHelper().file, [], { input: tooFew + badCount + good, encoding: 'utf8', timeout: 10_000 });
  t.equal(run.status, 0, 'it ends at EOF');
  t.equal(run.stderr.match(/malformed request ignored/g)?.length, 2, 'each bad request is named on stderr');
  t.match(run.stdout, /^R\nS 7 (\d+)\n/, 'the good request behind them starts');
  const garbage = spawnSync(nativeHelper().file, [], { input: 'twelve\nxx', encoding: 'utf8', timeout: 10_000 });
  t.equal(garbage.status, 1, 'a stream that is not requests ends the helper (the executor then starts a new one)');
});

t.test('AGORA_TASK_LAUNCHER picks the launcher; native falls back to perl where it cannot start', async (t) => {
  t.equal(taskLauncherKind(undefined, true), 'native', 'default where the native helper was built');
  t.equal(taskLauncherKind('', false), 'perl', 'default otherwise');
  t.equal(taskLauncherKind('perl', true), 'perl');
  t.equal(taskLauncherKind('native', false), 'native', 'asked for: it falls back when it cannot start');
  t.equal(taskLauncherKind('node', true), 'node');
  t.throws(() => taskLauncherKind('fork', true), { code: 'AGORA_EXECUTOR_CONFIG', message: /native, perl or node/ });
  const node = createTaskLauncher({ clock: systemClock, logger: silentLogger(), env: { AGORA_TASK_LAUNCHER: 'node' } });
  t.ok(node instanceof NodeTaskLauncher);
  const byDefault = createTaskLauncher({ clock: systemClock, logger: silentLogger(), env: {} });
  t.ok(byDefault instanceof HelperTaskLauncher);
  byDefault.close();

  const dir = tempDir(t);
  const missing = createTaskLauncher({ clock: systemClock, logger: silentLogger(), env: { AGORA_TASK_LAUNCHER: 'native' }, nativeLauncher: path.join(dir, 'no-such-launcher') });
  t.teardown(() => missing.close());
  const p = await missing.launch(spec(dir, 'sleep', ['30']));
  const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8');
  const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!;
  t.equal(fs.readFileSync(`/proc/${parent}/comm`, 'utf8').trim(), 'perl', 'the task is a child of the perl helper');
  process.kill(-p.pid, 'SIGKILL');
  t.same(await within(p.exited, 10_000, 'exit'), { code: null, signal: 'SIGKILL', groupKilled: true });
});
