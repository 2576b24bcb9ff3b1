/**
 * How the chaos harness finds task processes in /proc (bench/chaos/observe.ts): by the
 * run's token as a whole word and by a sandbox under the run's work dir, so concurrent
 * runs (seed 5 and seed 50) never see each other's tasks. Real processes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { byTask, findTaskProcesses } from '../../bench/chaos/observe.js';
import { waitFor } from '../helpers/wait.js';

t.test('finds this run\'s task processes only', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-chaos-observe-'));
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-chaos-observe-other-'));
  t.teardown(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(other, { recursive: true, force: true });
  });
  const start = (taskId: string, token: string, sandbox: string, appId?: string) => {
    const child = spawn('/bin/sh', ['-c', `sleep 60; true # ${token}`], {
      env: { PATH: process.env.PATH, MESOS_TASK_ID: taskId, MESOS_SANDBOX: sandbox, ...(appId ? { MARATHON_APP_ID: appId } : {}) },
      stdio: 'ignore',
    });
    t.teardown(() => { child.kill('SIGKILL'); });
    return child.pid!;
  };
  const mine = start('chaos-5-l0', 'agora-chaos-5', path.join(dir, 'slave-0/sandbox'));
  const app = start('app.1', 'agora-chaos-5', path.join(dir, 'slave-1/sandbox'), '/chaos-5');
  start('chaos-50-l0', 'agora-chaos-50', path.join(dir, 'slave-0/sandbox2'));
  start('chaos-5-x', 'agora-chaos-5', path.join(other, 'sandbox'));
  const found = await waitFor(() => {
    const f = findTaskProcesses('agora-chaos-5', dir);
    return f.length >= 2 ? f : undefined;
  }, { timeoutMs: 10_000, what: 'the task processes to show in /proc' });
  t.same(found.map((p) => p.taskId).sort(), ['app.1', 'chaos-5-l0'], 'the other seed and the other work dir are left out');
  t.equal(found.find((p) => p.taskId === 'chaos-5-l0')!.pid, mine);
  t.equal(found.find((p) => p.taskId === 'app.1')!.appId, '/chaos-5');
  t.same([...byTask(found).entries()].sort(), [['app.1', [app]], ['chaos-5-l0', [mine]]]);
});
