/**
 * `agora slave --master zk://…` and `agora run --master zk://…` as real processes, with a
 * real ZooKeeper and two real (standalone) masters. The test plays the masters' election
 * itself: it writes each master's MasterInfo into an EPHEMERAL_SEQUENTIAL
 * `/agora/json.info_<seq>` znode (Mesos's layout), so this checks the clients' leader
 * detection independently of the masters' own election.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { killProcessesUnder } from '../../bin/process-sweep.js';
import { connectZk } from '../../sdk/zk/index.js';
import { spawnAgora, type AgoraProcess } from '../helpers/agora-process.js';
import { getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

/** Bound on anything that should happen promptly (a failure limit, not a timing assertion). */
const SOON = 30_000;
const GROUP = '/agora';
const LOOPBACK = ['--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1'];

function masterInfo(port: number, id: string): string {
  return JSON.stringify({ id, ip: 0x0100007f, port, pid: `master@127.0.0.1:${port}`, hostname: '127.0.0.1', version: '1.11.0', address: { hostname: '127.0.0.1', ip: '127.0.0.1', port } });
}

t.test('slave and run follow the leader named in ZooKeeper', async (t) => {
  const zk = await startZooKeeper(t);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-zk-clients-'));
  t.teardown(() => {
    killProcessesUnder(workDir, { byCwd: true });
    fs.rmSync(workDir, { recursive: true, force: true });
  });
  const procs: AgoraProcess[] = [];
  t.teardown(async () => {
    if (!t.passing()) for (const p of procs) t.comment(p.tail(40));
    for (const p of procs.reverse()) await p.stop(20_000);
  });
  const master = async (name: string): Promise<{ proc: AgoraProcess; port: number }> => {
    const proc = spawnAgora(['master', '--port', '0', '--work-dir', path.join(workDir, name), ...LOOPBACK], { name });
    procs.push(proc);
    return { proc, port: await proc.waitListening(SOON) };
  };
  const m1 = await master('master-1');
  const m2 = await master('master-2');
  const writer = await connectZk(zk.url(GROUP));
  t.teardown(() => writer.close());
  await writer.mkdirp(GROUP);
  const m1Node = await writer.create(`${GROUP}/json.info_`, masterInfo(m1.port, 'master-1'), 'EPHEMERAL_SEQUENTIAL');

  const slave = spawnAgora([
    'slave', '--master', zk.url(GROUP), '--port', '0', '--work-dir', path.join(workDir, 'slave'),
    '--resources', 'cpus:2;mem:512;disk:512;ports:[31000-31010]', '--cleanup-on-exit', ...LOOPBACK,
  ], { name: 'slave' });
  procs.push(slave);
  await slave.waitListening(SOON);
  const agentId = (await slave.waitForLog((l) => l.msg === 'registered' && typeof l.agent_id === 'string', SOON, 'registered')).agent_id as string;
  const slaves1 = await getJson(`http://127.0.0.1:${m1.port}/master/slaves`);
  t.same((slaves1.body.slaves as Array<{ id: string }>).map((s) => s.id), [agentId], 'the slave registered with the leader, master-1');

  const run1 = spawnAgora(['run', '--master', zk.url(GROUP), '--', 'echo', 'hello from the leader'], { t, name: 'run-1' });
  const exit1 = await run1.waitForExit(SOON);
  t.equal(exit1.code, 0, 'agora run --master zk://… exits 0', { output: run1.tail() });
  t.equal(run1.stdout, 'hello from the leader\n');

  // Failover: master-2 joins, master-1's znode goes. The slave re-registers with the same id.
  await writer.create(`${GROUP}/json.info_`, masterInfo(m2.port, 'master-2'), 'EPHEMERAL_SEQUENTIAL');
  await writer.delete(m1Node);
  await slave.waitForLog((l) => l.msg === 'registered' && l.reregistered === true && l.agent_id === agentId, SOON, 're-registered');
  await waitFor(async () => {
    const { body } = await getJson(`http://127.0.0.1:${m2.port}/master/slaves`);
    return (body.slaves as Array<{ id: string; active: boolean }>).some((s) => s.id === agentId && s.active) || undefined;
  }, { timeoutMs: SOON, what: 'master-2 lists the slave under its id' });

  const run2 = spawnAgora(['run', '--master', zk.url(GROUP), '--', 'echo', 'hello from the new leader'], { t, name: 'run-2' });
  const exit2 = await run2.waitForExit(SOON);
  t.equal(exit2.code, 0, 'agora run follows the new leader', { output: run2.tail() });
  t.equal(run2.stdout, 'hello from the new leader\n');
  const frameworks2 = await getJson(`http://127.0.0.1:${m2.port}/master/frameworks`);
  t.ok(JSON.stringify(frameworks2.body).includes('agora-run'), 'the framework subscribed at master-2');
});

t.test('bad zk:// URLs are refused by the CLI with a clear message', async (t) => {
  const slave = spawnAgora(['slave', '--master', 'zk://127.0.0.1:2181', '--port', '0', '--work-dir', os.tmpdir()], { t });
  const s = await slave.waitForExit(SOON);
  t.not(s.code, 0);
  t.match(slave.stderr, /zk:\/\/HOST:PORT/);
  const run = spawnAgora(['run', '--master', 'zk://127.0.0.1:2181/', '--', 'true'], { t });
  const r = await run.waitForExit(SOON);
  t.not(r.code, 0);
  t.match(run.stderr, /zk:\/\/HOST:PORT/);
});
