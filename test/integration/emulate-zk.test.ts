/**
 * `agora slave --emulate N --master zk://…` (real processes, a real ZooKeeper): the
 * emulated agents follow the elected master through their one shared detector, and after
 * the leader is SIGKILLed they re-register with their ids at the new leader.
 */
import path from 'node:path';
import t from 'tap';
import { spawnAgora } from '../helpers/agora-process.js';
import { tempWorkDir } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper } from '../helpers/zookeeper.js';

/** A generous failure bound, not a timing assertion. */
const SOON = 60_000;
const N = 20;
const LOOPBACK = ['--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1'];

type Slaves = Array<{ id: string; hostname: string; active: boolean }>;

/** The port of the master that serves `/master/slaves` (the leader; standbys redirect). */
async function leaderSlaves(ports: number[]): Promise<{ port: number; slaves: Slaves } | undefined> {
  for (const port of ports) {
    const res = await fetch(`http://127.0.0.1:${port}/master/slaves`, { redirect: 'manual', signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    if (res === undefined) continue;
    if (res.status !== 200) {
      await res.arrayBuffer();
      continue;
    }
    return { port, slaves: ((await res.json()) as { slaves: Slaves }).slaves };
  }
  return undefined;
}

t.test('emulated agents follow a zk:// master election and re-register after a failover', async (t) => {
  const zk = await startZooKeeper(t);
  const dir = tempWorkDir(t, 'agora-emulate-zk-');
  const masters = [0, 1].map((i) => spawnAgora([
    'master', '--port', '0', '--work-dir', path.join(dir, `master-${i}`), '--zk', zk.url('/agora'), '--zk-session-timeout', '4secs', ...LOOPBACK,
  ], { t, name: `master-${i}` }));
  const ports = await Promise.all(masters.map((m) => m.waitListening(SOON)));
  const emu = spawnAgora([
    'slave', '--master', zk.url('/agora'), '--emulate', String(N), '--emulate-spread', '200ms', '--port', '0', '--bind', '127.0.0.1',
  ], { t, name: 'emulator' });
  const emuPort = await emu.waitListening(SOON);
  await emu.waitForLog((l) => l.msg === 'all emulated agents registered' && l.count === N, SOON, 'all emulated agents registered');

  const before = await waitFor(async () => {
    const l = await leaderSlaves(ports);
    return l !== undefined && l.slaves.filter((s) => s.active).length === N ? l : undefined;
  }, { timeoutMs: SOON, what: `the leader to list ${N} active agents` });
  const ids = before.slaves.map((s) => s.id).sort();
  t.equal(ids.length, N);

  const leaderIndex = ports.indexOf(before.port);
  masters[leaderIndex]!.signal('SIGKILL');
  const standbyPort = ports[1 - leaderIndex]!;
  const after = await waitFor(async () => {
    const l = await leaderSlaves([standbyPort]);
    return l !== undefined && l.slaves.filter((s) => s.active).length === N ? l : undefined;
  }, { timeoutMs: SOON, what: `the new leader to list ${N} re-registered agents` });
  t.same(after.slaves.map((s) => s.id).sort(), ids, 'the same agent ids at the new leader');
  t.ok(after.slaves.every((s) => /^emu-\d+$/.test(s.hostname)), 'hostnames emu-<i> by default');
  const state = await getJson(`http://127.0.0.1:${emuPort}/state`);
  t.equal(state.body.connected, N, 'every emulated agent is connected again');

  emu.signal('SIGTERM');
  t.same(await emu.waitForExit(SOON), { code: 0, signal: null }, 'SIGTERM: exits 0');
});
