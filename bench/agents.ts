/**
 * `agents`: N emulated slaves (one `agora slave --emulate N` process, connects spread over
 * N × 2 ms up to 30 s) registered at a real master and answering its pings. Figures: time to
 * register all N (emulator start → the master's N-th `agent registered` log line) and the
 * master's CPU seconds meanwhile; then,
 * over an idle window of a few ping periods, the master's CPU (% of one core) and RSS;
 * heartbeat trouble (agents the master found failing health checks, removed, or inactive:
 * all 0 when every ping is answered in time); and the latency of GET /master/state (p50/p99)
 * with its size. Last, a framework that declines every offer with `refuse_seconds: 0` for
 * `--decline S` seconds: the offers it gets a second and the master's CPU meanwhile (the
 * master holds declined resources back from the decliner for `--min-decline-refuse`, 1 s by
 * default, so this is one offer per agent a second, as Mesos's one-second allocation batches
 * give; without that floor the offers came straight back, a loop that kept the master busy).
 *
 *   node dist/bench/agents.js [--quick] [--json] [--slaves N] [--ping S] [--idle S] [--decline S] [--ha]
 *
 * `--ha`: the master runs highly available (`--zk`, a real ZooKeeper started by the bench),
 * so every admission is written to the registry in ZooKeeper: the same figures with the
 * registry's size (`registry_bytes`, the znodes under the master's path) added.
 *
 * Full: N = 15,000, ping every 15 s (Mesos's default), 45 s idle, 10 s declining; quick:
 * N = 1,000, ping every 2 s, 10 s idle, 5 s declining. The fd soft limit of the master and
 * emulator is raised to the hard limit (20,000 here) at their start.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { LogRecord } from '../test/helpers/agora-process.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { silentLogger } from '../sdk/core/log.js';
import { Scheduler } from '../sdk/scheduler/index.js';
import { connectZk } from '../sdk/zk/index.js';
import { within } from './lib/framework.js';
import { fetchJson, masterMetric, timeGets } from './lib/http.js';
import { CpuWindow, rssMb } from './lib/proc-stats.js';
import { intFlag, runBench } from './lib/run.js';
import { percentiles, round } from './lib/stats.js';

const SLAVE_RESOURCES = 'cpus:8;mem:32768;disk:100000;ports:[31000-32000]';

const isElected = (l: LogRecord): boolean => typeof l.msg === 'string' && l.msg.startsWith('elected leading master');

/** Total data bytes of the znodes under `root` (the HA master's registry and election nodes). */
async function znodeBytes(connectString: string, root: string): Promise<number> {
  const session = await connectZk(`zk://${connectString}/`, { sessionTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
  try {
    let total = 0;
    const walk = async (path: string, depth: number): Promise<void> => {
      const got = await session.get(path);
      total += got?.data.length ?? 0;
      if (depth >= 4) return;
      for (const child of await session.children(path)) await walk(`${path === '/' ? '' : path}/${child}`, depth + 1);
    };
    await walk(root, 0);
    return total;
  } finally {
    await session.close();
  }
}

/** Waits `ms` of wall time: the idle window the CPU is measured over (a measurement, not a synchronisation). */
function idleFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A framework declining every offer it gets with `refuse_seconds: 0`, for `ms` of wall time
 * after its first offers: offers it got a second, and the master's CPU (% of one core).
 */
async function measureDecliner(master: string, masterPid: number, ms: number): Promise<{ offers_per_s: number; master_cpu_percent: number | undefined; seconds: number }> {
  const scheduler = new Scheduler({ master, frameworkInfo: { user: 'bench', name: 'bench-decliner' }, logger: silentLogger() });
  let offers = 0;
  let firstOffers!: () => void;
  const offered = new Promise<void>((resolve) => { firstOffers = resolve; });
  scheduler.on('OFFERS', (list) => {
    offers += list.length;
    firstOffers();
    // Not awaited: the SDK runs handlers one at a time, and the calls go out in order anyway.
    void scheduler.decline(list.map((o) => o.id.value), { refuse_seconds: 0 }).catch(() => undefined);
  });
  try {
    await scheduler.start();
    await within(offered, 30_000, 'the declining framework\'s first offers');
    const cpu = new CpuWindow(masterPid);
    const counted = offers;
    const started = performance.now();
    await idleFor(ms);
    const seconds = (performance.now() - started) / 1000;
    return { offers_per_s: round((offers - counted) / seconds, 0), master_cpu_percent: cpu.percent(), seconds: round(seconds, 1) };
  } finally {
    await scheduler.teardown().catch(() => scheduler.stop().catch(() => undefined));
  }
}

await runBench({
  name: 'agents',
  budgetMs: { quick: 90_000, full: 420_000 },
  flags: { slaves: { type: 'string' }, ping: { type: 'string' }, idle: { type: 'string' }, requests: { type: 'string' }, decline: { type: 'string' }, ha: { type: 'boolean' } },
  targets: [
    { figure: 'master_idle.cpu_percent', op: '<=', value: 25, unit: '% of a core' },
    { figure: 'master_idle.rss_mb', op: '<=', value: 400, unit: 'MB' },
    { figure: 'heartbeat.failed_health_checks', op: '<=', value: 0 },
  ],
  anchor: 'Mesos paper: 50,000 emulated slaves on one master; target 15,000 slaves here (fd hard limit 20,000)',
  async run(ctx) {
    const slaves = intFlag(ctx, 'slaves', ctx.quick ? 1_000 : 15_000);
    const pingS = intFlag(ctx, 'ping', ctx.quick ? 2 : 15);
    const idleS = intFlag(ctx, 'idle', ctx.quick ? 10 : 45);
    const requests = intFlag(ctx, 'requests', ctx.quick ? 20 : 30);
    const declineS = intFlag(ctx, 'decline', ctx.quick ? 5 : 10);

    const ha = ctx.flags.ha === true;
    const haArgs: string[] = [];
    let zkConnect: string | undefined;
    if (ha) {
      ctx.note('starting ZooKeeper');
      const zk = await startZooKeeper(ctx.processes);
      zkConnect = zk.connectString;
      haArgs.push('--zk', zk.url('/agora'));
    }
    ctx.note(`${ha ? 'HA master (registry in ZooKeeper)' : 'master'} + ${slaves} emulated slaves (ping every ${pingS} s)`);
    const master = await ctx.processes.master(['--agent-ping-timeout', `${pingS}secs`, ...haArgs], { raiseFdLimit: true });
    if (ha) await master.proc.waitForLog(isElected, 60_000, 'elected');
    const registerStart = Date.now();
    const registrationCpu = new CpuWindow(master.proc.pid);
    const emulator = ctx.processes.emulator(master, slaves, SLAVE_RESOURCES);
    const last = await ctx.processes.waitForAgents(master, slaves, Math.min(240_000, ctx.remainingMs() / 2));
    const registerAllS = ((last.time as number) - registerStart) / 1000;
    const masterRegistrationCpuS = registrationCpu.seconds();
    const rssAfterRegistration = rssMb(master.proc.pid);

    ctx.note(`idle for ${idleS} s`);
    const masterCpu = new CpuWindow(master.proc.pid);
    const emulatorCpu = new CpuWindow(emulator.pid);
    await idleFor(Math.min(idleS * 1000, ctx.remainingMs() / 3));
    const masterIdleCpu = masterCpu.percent();
    const emulatorIdleCpu = emulatorCpu.percent();
    const masterRss = rssMb(master.proc.pid);
    const emulatorRss = rssMb(emulator.pid);
    const failedHealthChecks = master.proc.logs.filter((l) => l.msg === 'agent failed health checks').length;
    const removed = await masterMetric(master.url, 'master/slave_removals');
    const inactive = await masterMetric(master.url, 'master/slaves_inactive');
    const active = await masterMetric(master.url, 'master/slaves_active');

    ctx.note(`${requests} GET /master/state`);
    const state = await fetchJson(`${master.url}/master/state`);
    const stateMb = Buffer.byteLength(JSON.stringify(state.body)) / 2 ** 20;
    const stateMs = await timeGets(`${master.url}/master/state`, requests, ctx.deadline - 10_000);
    const registryBytes = zkConnect === undefined ? undefined : await znodeBytes(zkConnect, '/agora');

    ctx.note(`a framework declining every offer with refuse_seconds 0, for ${declineS} s`);
    const declining = await measureDecliner(master.address, master.proc.pid, Math.min(declineS * 1000, ctx.remainingMs() / 3));
    return {
      params: { slaves, ping_interval_s: pingS, idle_s: idleS, state_requests: stateMs.length, slave_resources: SLAVE_RESOURCES, registry: ha ? 'zookeeper' : 'file' },
      figures: {
        register_all_s: round(registerAllS, 2),
        master_registration_cpu_s: round(masterRegistrationCpuS ?? 0, 2),
        slaves_active: active,
        master_idle: { cpu_percent: masterIdleCpu, rss_mb: round(masterRss ?? 0, 1), rss_after_registration_mb: round(rssAfterRegistration ?? 0, 1) },
        emulator_idle: { cpu_percent: emulatorIdleCpu, rss_mb: round(emulatorRss ?? 0, 1) },
        heartbeat: { failed_health_checks: failedHealthChecks, agents_removed: removed, agents_inactive: inactive },
        master_state_ms: percentiles(stateMs, 1),
        master_state_mb: round(stateMb, 2),
        ...(registryBytes !== undefined ? { registry_bytes: registryBytes } : {}),
        declining_framework: declining,
      },
    };
  },
});
