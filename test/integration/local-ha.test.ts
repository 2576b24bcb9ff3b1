/**
 * `agora local --ha`, run as a user runs it: a ZooKeeper server, 3 masters, a slave and 2
 * Marathons; SIGKILL of the leading master → a standby leads, the supervisor restarts the
 * killed master, a task still runs through `zk://`; Ctrl-C stops every process.
 */
import path from 'node:path';
import t from 'tap';
import { isAlive } from '../../bin/process-sweep.js';
import { spawnAgora } from '../helpers/agora-process.js';
import { tempWorkDir } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const SOON = 90_000;

/** The leader's `host:port` as a master's /master/redirect names it (undefined with none). */
async function leaderOf(masterUrl: string): Promise<string | undefined> {
  const res = await fetch(`${masterUrl}/master/redirect`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
  await res.body?.cancel();
  const location = res.headers.get('location');
  return location === null ? undefined : location.replace(/^\/\//, '');
}

t.test('agora local --ha: failover by hand, the killed master restarted, Ctrl-C stops all', async (t) => {
  const dir = tempWorkDir(t);
  const local = spawnAgora(['local', '--ha', '--master-port', '0', '--slaves', '1', '--work-dir', path.join(dir, 'cluster')], { t });
  await local.waitForLine(/Press Ctrl-C to stop/, SOON, 'the ready banner');
  const out = local.stdout;
  const zk = /^\s+zookeeper\s+127\.0\.0\.1:(\d+)\s+pid (\d+)/m.exec(out);
  t.ok(zk, 'prints the ZooKeeper server');
  const masters = [...out.matchAll(/^\s+(master-\d)\s+http:\/\/(127\.0\.0\.1:\d+)\s+pid (\d+)/gm)].map((m) => ({ name: m[1]!, address: m[2]!, pid: Number(m[3]) }));
  t.equal(masters.length, 3, 'three masters');
  const marathons = [...out.matchAll(/^\s+marathon-\d\s+http:\/\/127\.0\.0\.1:\d+\s+pid (\d+)/gm)].map((m) => Number(m[1]));
  t.equal(marathons.length, 2, 'two Marathons');
  const slave = /^\s+slave-0\s+\S+\s+pid (\d+)\s+agent (\S+)/m.exec(out);
  t.ok(slave, 'the slave registered');
  const zkMaster = `zk://127.0.0.1:${zk![1]}/agora`;
  t.match(out, `npx agora run --master ${zkMaster} -- echo hello`, 'the hint runs through ZooKeeper');

  const firstLeader = await waitFor(() => leaderOf(`http://${masters[0]!.address}`), { timeoutMs: SOON, what: 'a leader' });
  const leader = masters.find((m) => m.address === firstLeader);
  t.ok(leader, `the leader (${firstLeader}) is one of the masters`);
  process.kill(leader!.pid, 'SIGKILL');
  await local.waitForLine(new RegExp(`restarted ${leader!.name} \\(pid \\d+\\)`), SOON, 'the supervisor restarting the killed master');
  const standby = masters.find((m) => m !== leader)!;
  const nextLeader = await waitFor(async () => {
    const l = await leaderOf(`http://${standby.address}`).catch(() => undefined);
    return l !== undefined && l !== firstLeader ? l : undefined;
  }, { timeoutMs: SOON, what: 'a new leader' });
  t.not(nextLeader, firstLeader, `a standby leads (${nextLeader})`);

  const run = spawnAgora(['run', '--master', zkMaster, '--', 'echo hello-after-failover'], { t });
  await run.waitForLine(/^hello-after-failover$/, SOON, 'the task output');
  t.equal((await run.waitForExit(SOON)).code, 0, 'agora run through zk:// succeeds after the failover');

  const restartedPid = Number(new RegExp(`restarted ${leader!.name} \\(pid (\\d+)\\)`).exec(local.stdout)![1]);
  local.signal('SIGINT');
  t.equal((await local.waitForExit(SOON)).code, 0, 'agora local exits 0 after Ctrl-C');
  const pids = [Number(zk![2]), ...masters.map((m) => m.pid), restartedPid, Number(slave![1]), ...marathons];
  for (const pid of pids) t.notOk(isAlive(pid), `process ${pid} is gone`);
});
