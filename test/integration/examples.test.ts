/**
 * The examples run as users run them, against a real cluster: the batch framework (with the
 * built-in command executor and with the custom executor) and a Mesos HTTP framework in
 * plain Python that knows nothing about Agora.
 */
import t from 'tap';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot, spawnAgora } from '../helpers/agora-process.js';
import { cluster } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';

const SOON = 90_000;
const node = (script: string): string[] => [process.execPath, path.join(repoRoot, script)];

t.test('examples against a master and two slaves', async (t) => {
  const c = await cluster(t, { slaves: 2 });

  t.test('batch-framework runs 10 tasks and exits 0', async (t) => {
    const p = spawnAgora(['--master', c.masterAddress, '--tasks', '10', '--cmd', 'echo batch-$MESOS_TASK_ID', '--name', 'batch-command', '--timeout', '60'], {
      t, name: 'batch-framework', command: node('dist/examples/batch-framework.js'),
    });
    const { code } = await p.waitForExit(SOON);
    t.equal(code, 0, 'exits 0', { output: p.tail() });
    t.match(p.stdout, /done: 10 finished, 0 failed/);
    const { body } = await getJson(`${c.masterUrl}/master/tasks?limit=1000`);
    const finished = (body.tasks as Array<{ state: string; framework_id: string; slave_id: string }>).filter((x) => x.state === 'TASK_FINISHED');
    t.ok(finished.length >= 10, 'the master reports the finished tasks');
  });

  t.test('batch-framework --executor custom runs 10 tasks through the custom executor and exits 0', async (t) => {
    const p = spawnAgora(['--master', c.masterAddress, '--tasks', '10', '--executor', 'custom', '--name', 'batch-custom', '--timeout', '60'], {
      t, name: 'batch-framework', command: node('dist/examples/batch-framework.js'),
    });
    const { code } = await p.waitForExit(SOON);
    t.equal(code, 0, 'exits 0', { output: p.tail() });
    t.match(p.stdout, /done: 10 finished, 0 failed/);
  });

  const python = spawnSync('python3', ['--version']);
  t.test('a Mesos HTTP framework in Python subscribes, launches, finishes and exits 0', { skip: python.status === 0 ? false : 'python3 is not installed' }, async (t) => {
    const p = spawnAgora(['--master', c.masterAddress, '--timeout', '60'], {
      t, name: 'python-framework', command: ['python3', path.join(repoRoot, 'test/fixtures/python-framework.py')],
    });
    const { code } = await p.waitForExit(SOON);
    t.equal(code, 0, 'exits 0', { output: p.tail() });
    t.match(p.stdout, /subscribed as \S+/);
    t.match(p.stdout, /update python-task-1 TASK_FINISHED/);
  });
});
