/**
 * Master failover figures on real processes and a real ZooKeeper: 3 `agora master --zk`
 * (session timeout 4 s), N slaves and one SDK framework following the leader through
 * `zk://`. The leading master is SIGKILLed; measured from the kill to
 *
 * - (a) `elected`: a standby logs that it was elected;
 * - (b) `slaves`: every slave logged its re-registration with the new leader;
 * - (c) `framework`: the framework received SUBSCRIBED from the new leader.
 *
 * Then a planned handover (SIGTERM of the new leader: it leaves the election at once) →
 * time to the next `elected`. Times come from the processes' own log timestamps (pino
 * `time`, ms) and the framework's clock, on the same host.
 *
 *   node dist/bench/failover.js [--slaves 2] [--session-timeout 4]
 *
 * Prints one JSON line. Polling here measures; it synchronises nothing.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Scheduler } from '../sdk/scheduler/index.js';
import { silentLogger } from '../sdk/core/log.js';
import { spawnAgora, type AgoraProcess, type LogRecord } from '../test/helpers/agora-process.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { killProcessesUnder } from '../bin/process-sweep.js';

const { values } = parseArgs({
  options: {
    slaves: { type: 'string', default: '2' },
    'session-timeout': { type: 'string', default: '4' },
    /** Prints the new leader's and the framework's log lines of the failover, times relative to the kill. */
    timeline: { type: 'boolean', default: false },
  },
});
const slaveCount = Number(values.slaves);
const sessionTimeoutS = Number(values['session-timeout']);
const STEP_MS = 60_000;

const giveUp = setTimeout(() => {
  console.error('bench: gave up after 5 minutes');
  process.exit(1);
}, 300_000);

const teardowns: Array<() => unknown> = [];
const host = { teardown: (fn: () => unknown) => { teardowns.push(fn); } };
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-bench-failover-'));
const LOOPBACK = ['--bind', '127.0.0.1', '--ip', '127.0.0.1', '--hostname', '127.0.0.1'];
const procs: AgoraProcess[] = [];
let scheduler: Scheduler | undefined;
/** With --timeline, the framework's log lines (pino JSON on stderr) go into the timeline. */
const frameworkLines: Array<{ time: number; msg: string }> = [];
const timelineLogger = pino({ level: 'debug' }, { write: (line: string) => {
  const rec = JSON.parse(line) as { time: number; msg: string };
  frameworkLines.push({ time: rec.time, msg: rec.msg });
} });

const isElected = (l: LogRecord): boolean => typeof l.msg === 'string' && l.msg.startsWith('elected leading master');

async function main(): Promise<void> {
  const zk = await startZooKeeper(host);
  const zkUrl = zk.url('/agora');
  const masters = Array.from({ length: 3 }, (_, i) => spawnAgora([
    'master', '--port', '0', '--work-dir', path.join(workDir, `master-${i}`), '--zk', zkUrl,
    '--zk-session-timeout', `${sessionTimeoutS}secs`, ...LOOPBACK,
  ], { name: `master-${i}` }));
  procs.push(...masters);
  await Promise.all(masters.map((m) => m.waitListening(STEP_MS)));
  // The first leader: the one that logs its election.
  const first = await Promise.any(masters.map(async (m) => { await m.waitForLog(isElected, STEP_MS, 'elected'); return m; }));

  const slaves = Array.from({ length: slaveCount }, (_, i) => spawnAgora([
    'slave', '--master', zkUrl, '--port', '0', '--work-dir', path.join(workDir, `slave-${i}`),
    '--resources', 'cpus:1;mem:512;disk:1000', '--cleanup-on-exit', ...LOOPBACK,
  ], { name: `slave-${i}` }));
  procs.push(...slaves);
  await Promise.all(slaves.map((s) => s.waitForLog((l) => l.msg === 'registered', STEP_MS, 'registered')));

  const subscribedAt: number[] = [];
  scheduler = new Scheduler({ master: zkUrl, frameworkInfo: { user: os.userInfo().username, name: 'bench-failover', failover_timeout: 600 }, logger: values.timeline ? timelineLogger : silentLogger() });
  scheduler.on('SUBSCRIBED', () => { subscribedAt.push(Date.now()); });
  await scheduler.start();
  const subscriptionsBefore = subscribedAt.length;
  const slaveLogsBefore = slaves.map((s) => s.logs.events.length);

  // (a)–(c): SIGKILL of the leader.
  const killedAt = Date.now();
  first.signal('SIGKILL');
  const standbys = masters.filter((m) => m !== first);
  const standbyLogsBefore = standbys.map((m) => m.logs.events.length);
  const [second, electedRec] = await Promise.any(standbys.map(async (m, i) => [m, await m.logs.waitFor(isElected, STEP_MS, 'elected', standbyLogsBefore[i]!)] as const));
  const electedAt = electedRec.time as number;
  const reregisteredAt = await Promise.all(slaves.map(async (s, i) => {
    const rec = await s.logs.waitFor((l) => l.msg === 'registered', STEP_MS, 're-registered', slaveLogsBefore[i]!);
    return rec.time as number;
  }));
  const deadline = Date.now() + STEP_MS;
  while (subscribedAt.length <= subscriptionsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  if (subscribedAt.length <= subscriptionsBefore) throw new Error('the framework did not re-subscribe');

  // Planned handover: SIGTERM of the new leader.
  const third = masters.find((m) => m !== first && m !== second)!;
  const thirdLogsBefore = third.logs.events.length;
  const termAt = Date.now();
  second.signal('SIGTERM');
  const rec = await third.logs.waitFor(isElected, STEP_MS, 'elected after handover', thirdLogsBefore);

  const secs = (ms: number): number => Math.round(ms) / 1000;
  console.log(JSON.stringify({
    bench: 'failover',
    slaves: slaveCount,
    session_timeout_s: sessionTimeoutS,
    sigkill: {
      elected_s: secs(electedAt - killedAt),
      slaves_reregistered_s: secs(Math.max(...reregisteredAt) - killedAt),
      framework_resubscribed_s: secs(subscribedAt[subscriptionsBefore]! - killedAt),
    },
    planned_handover: { elected_s: secs((rec.time as number) - termAt) },
    goal_framework_s: sessionTimeoutS + 1,
  }));
  if (values.timeline) {
    const since = (t: unknown): string => ((Number(t) - killedAt) / 1000).toFixed(3);
    for (const l of second.logs.events) {
      if (typeof l.time === 'number' && l.time >= killedAt && l.time <= killedAt + 15_000) console.error(`${since(l.time)} leader  ${String(l.msg)}`);
    }
    for (const l of frameworkLines) if (l.time >= killedAt) console.error(`${since(l.time)} framework ${l.msg}`);
  }
}

main()
  .catch((err: unknown) => {
    console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    clearTimeout(giveUp);
    await scheduler?.stop().catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop(10_000).catch(() => undefined)));
    for (const fn of teardowns.reverse()) await fn();
    killProcessesUnder(workDir, { byCwd: true });
    fs.rmSync(workDir, { recursive: true, force: true });
  });
