/**
 * `marathon`: Marathon (`agora marathon`, its own process) on a real master with emulated
 * slaves (one `agora slave --emulate N` process; tasks are simulated, so the figure is
 * Marathon's and the master's, not the machine's spawn rate):
 *
 * - launch: seconds from `POST /v2/apps` of an app of `instances` instances until the
 *   `instances`-th TASK_RUNNING status_update_event of that app on /v2/events (then checked
 *   with GET /v2/apps/{id}: tasksRunning = instances);
 * - list: latency of `GET /v2/apps` (and with `embed=apps.tasks`) once Marathon holds `apps`
 *   apps (the big one plus apps of 0 instances created in one group).
 *
 *   node dist/bench/marathon.js [--quick] [--json] [--instances N] [--apps N] [--requests N] [--slaves N]
 *
 * Full: 1,000 instances, 1,000 apps, 100 emulated slaves; quick: 200, 200, 20.
 *
 * @module
 */
import path from 'node:path';
import { within } from './lib/framework.js';
import { fetchJson, timeGets } from './lib/http.js';
import { CpuWindow, peakRssMb } from './lib/proc-stats.js';
import { intFlag, runBench } from './lib/run.js';
import { readEvents } from './lib/sse.js';
import { percentiles, round } from './lib/stats.js';

const SLAVE_RESOURCES = 'cpus:16;mem:65536;disk:100000;ports:[31000-32000]';
const APP_ID = '/bench/big';

await runBench({
  name: 'marathon',
  budgetMs: { quick: 90_000, full: 300_000 },
  flags: { instances: { type: 'string' }, apps: { type: 'string' }, requests: { type: 'string' }, slaves: { type: 'string' } },
  targets: [
    { figure: 'launch.seconds_to_all_running', op: '<=', value: 2, unit: 's' },
    { figure: 'list.get_v2_apps_ms.p99', op: '<=', value: 20, unit: 'ms' },
  ],
  anchor: 'Marathon: GET /v2/apps with 1,000 apps took 12 s before its fix, 100 ms after',
  async run(ctx) {
    const instances = intFlag(ctx, 'instances', ctx.quick ? 200 : 1_000);
    const appCount = intFlag(ctx, 'apps', ctx.quick ? 200 : 1_000);
    const requests = intFlag(ctx, 'requests', ctx.quick ? 50 : 100);
    const slaves = intFlag(ctx, 'slaves', ctx.quick ? 20 : 100);

    ctx.note(`master + ${slaves} emulated slaves + Marathon`);
    const master = await ctx.processes.master();
    ctx.processes.emulator(master, slaves, SLAVE_RESOURCES);
    await ctx.processes.waitForAgents(master, slaves, Math.min(120_000, ctx.remainingMs() / 3));
    const marathonProc = ctx.processes.spawn([
      'marathon', '--master', master.address, '--port', '0', '--work-dir', path.join(ctx.processes.workDir, 'marathon'),
      '--bind', '127.0.0.1', '--hostname', '127.0.0.1',
    ], 'marathon');
    const port = await marathonProc.waitListening(60_000);
    await marathonProc.waitForLog((l) => l.msg === 'subscribed', 60_000, 'subscribed to the master');
    const marathon = `http://127.0.0.1:${port}`;

    // 1. An app of `instances` instances, POST → all running.
    ctx.note(`POST an app of ${instances} instances`);
    const running = new Set<string>();
    let allRunning!: () => void;
    const allRunningP = new Promise<void>((resolve) => { allRunning = resolve; });
    let lastRunningAt = 0n;
    const events = readEvents(`${marathon}/v2/events?event_type=status_update_event`, (e: { appId?: string; taskId?: string; taskStatus?: string }) => {
      if (e.appId !== APP_ID || e.taskStatus !== 'TASK_RUNNING' || e.taskId === undefined || running.has(e.taskId)) return;
      running.add(e.taskId);
      if (running.size === instances) {
        lastRunningAt = process.hrtime.bigint();
        allRunning();
      }
    });
    const marathonCpu = new CpuWindow(marathonProc.pid);
    let launchSeconds: number;
    try {
      await within(events.opened, 30_000, 'the /v2/events stream');
      const started = process.hrtime.bigint();
      const created = await fetchJson(`${marathon}/v2/apps`, {
        method: 'POST',
        body: JSON.stringify({ id: APP_ID, cmd: 'sleep 3600', instances, cpus: 0.01, mem: 16, portDefinitions: [] }),
      });
      if (created.status !== 201) throw new Error(`POST /v2/apps → ${created.status} ${JSON.stringify(created.body)}`);
      await within(allRunningP, Math.min(120_000, ctx.remainingMs() / 2), `${instances} instances running (${running.size} so far)`);
      launchSeconds = Number(lastRunningAt - started) / 1e9;
    } finally {
      events.close();
    }
    const marathonLaunchCpu = marathonCpu.percent();
    const tasksRunning = (await fetchJson(`${marathon}/v2/apps${APP_ID}`)).body?.app?.tasksRunning as number | undefined;

    // 2. Up to `appCount` apps, then time the list.
    ctx.note(`${appCount} apps, ${requests} GET /v2/apps`);
    const apps = Array.from({ length: appCount - 1 }, (_, i) => ({ id: `app-${i}`, cmd: 'sleep 3600', instances: 0, cpus: 0.01, mem: 16 }));
    if (apps.length > 0) {
      const group = await fetchJson(`${marathon}/v2/groups`, { method: 'POST', body: JSON.stringify({ id: '/bench/many', apps }) });
      if (group.status !== 201) throw new Error(`POST /v2/groups → ${group.status} ${JSON.stringify(group.body).slice(0, 500)}`);
    }
    const listed = ((await fetchJson(`${marathon}/v2/apps`)).body?.apps?.length ?? 0) as number;
    const until = ctx.deadline - 10_000;
    await timeGets(`${marathon}/v2/apps`, 5, until); // warm-up (JIT)
    const plain = await timeGets(`${marathon}/v2/apps`, requests, until);
    const embedded = await timeGets(`${marathon}/v2/apps?embed=apps.tasks`, requests, until);
    return {
      params: { instances, apps: appCount, requests, slaves, slave_resources: SLAVE_RESOURCES, app: 'cpus 0.01, mem 16, no ports, simulated' },
      figures: {
        launch: { seconds_to_all_running: round(launchSeconds, 3), tasks_running_reported: tasksRunning, marathon_cpu_percent: marathonLaunchCpu },
        list: { apps_listed: listed, get_v2_apps_ms: percentiles(plain, 1), get_v2_apps_embed_tasks_ms: percentiles(embedded, 1) },
        peak_rss_mb: { marathon: round(peakRssMb(marathonProc.pid) ?? 0, 1), master: round(peakRssMb(master.proc.pid) ?? 0, 1) },
      },
    };
  },
});
