/**
 * The CLI's pure pieces: duration flags, the `agora run` command line and exit codes.
 */
import t from 'tap';
import { PassThrough } from 'node:stream';
import { parseDuration } from '../../sdk/core/duration.js';
import { exitCodeOf, shellCommandLine } from '../../bin/commands/run.js';
import { defaultSlaveResources } from '../../bin/commands/local.js';
import { parseResources, rangesOf, scalarOf } from '../../sdk/resources/index.js';

t.test('parseDuration: Mesos and short forms', async (t) => {
  const cases: Array<[string, number]> = [
    ['15s', 15_000], ['15secs', 15_000], ['1sec', 1000], ['500ms', 500], ['2mins', 120_000], ['2m', 120_000],
    ['1hrs', 3_600_000], ['1.5h', 5_400_000], ['3days', 259_200_000], ['1weeks', 604_800_000],
    ['10ns', 0.00001], ['5us', 0.005], [' 10 secs ', 10_000], ['0.5s', 500],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
  for (const bad of ['15', '', 's', '-1s', '1 parsec', '1e3s', 'soon']) {
    t.throws(() => parseDuration(bad), { code: 'AGORA_DURATION_INVALID' }, `refuses "${bad}"`);
  }
});

t.test('shellCommandLine: one argument verbatim, several quoted', async (t) => {
  t.equal(shellCommandLine(['echo $HOME | wc -c']), 'echo $HOME | wc -c');
  t.equal(shellCommandLine(['echo', 'hello']), 'echo hello');
  t.equal(shellCommandLine(['sh', '-c', 'exit 3']), "sh -c 'exit 3'");
  t.equal(shellCommandLine(['echo', "it's"]), "echo 'it'\\''s'");
  t.equal(shellCommandLine(['printf', '%s\\n', 'a b']), "printf '%s\\n' 'a b'");
});

t.test('exitCodeOf: the task\'s exit status, 128+signal, 1 otherwise', async (t) => {
  const err = new PassThrough();
  const status = (state: string, message?: string) => ({ task_id: { value: 'x' }, state, ...(message ? { message } : {}) }) as Parameters<typeof exitCodeOf>[0];
  t.equal(exitCodeOf(status('TASK_FINISHED', 'Command exited with status 0'), err), 0);
  t.equal(exitCodeOf(status('TASK_FAILED', 'Command exited with status 3'), err), 3);
  t.equal(exitCodeOf(status('TASK_FAILED', 'Command terminated with signal SIGKILL'), err), 137);
  t.equal(exitCodeOf(status('TASK_KILLED', 'Command terminated with signal SIGTERM'), err), 143);
  t.equal(exitCodeOf(status('TASK_LOST', 'Agent removed'), err), 1);
  t.equal(exitCodeOf(status('TASK_ERROR'), err), 1);
  t.match(String(err.read()), /TASK_LOST: Agent removed/);
});

t.test('agora local: default slave resources', async (t) => {
  for (const n of [1, 3, 64]) {
    for (let i = 0; i < n; i += Math.max(1, n - 1)) {
      const rs = parseResources(defaultSlaveResources('.', i, n));
      t.ok(scalarOf(rs, 'cpus') >= 2, `slave ${i}/${n}: at least 2 cpus`);
      t.ok(scalarOf(rs, 'mem') >= 2048, `slave ${i}/${n}: at least 2048 MB`);
      t.same(rangesOf(rs, 'ports'), [{ begin: 31000 + i * 1000, end: 31999 + i * 1000 }], `slave ${i}/${n}: its own port range`);
    }
  }
});
