/**
 * Marathon figures on a real `agora local` cluster (master, 3 slaves, Marathon as separate
 * processes on 127.0.0.1):
 *
 * - launch: seconds from `POST /v2/apps` of a 100-instance app (`sleep 3600`, cpus 0.01,
 *   mem 16) until `GET /v2/apps/{id}` reports all 100 instances running;
 * - list: latency of `GET /v2/apps` (and with `embed=apps.tasks`) once Marathon holds 500
 *   apps (the 100-instance app plus 499 apps of 0 instances created in one group).
 *
 *   node dist/bench/marathon.js [--instances 100] [--apps 500] [--requests 50]
 *
 * Prints one JSON line. Polling here measures; it synchronises nothing.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnAgora } from '../test/helpers/agora-process.js';
import { killProcessesUnder } from '../bin/process-sweep.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '100' },
    apps: { type: 'string', default: '500' },
    requests: { type: 'string', default: '50' },
  },
});
const instances = Number(values.instances);
const appCount = Number(values.apps);
const requests = Number(values.requests);
const DEADLINE_MS = 300_000;

const deadline = setTimeout(() => {
  console.error('bench: gave up after 5 minutes');
  process.exit(1);
}, DEADLINE_MS + 60_000);

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, headers: { 'Content-Type': 'application/json', ...(init?.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function stats(ms: number[]): { median: number; p95: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
  return { median: at(0.5), p95: at(0.95), max: at(1) };
}

async function timeGets(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}`);
    out.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return out;
}

const workDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agora-bench-marathon-')));
const local = spawnAgora(['local', '--master-port', '0', '--slaves', '3', '--work-dir', workDir], { name: 'local' });
try {
  const line = await local.waitForLine(/^\s+marathon\s+http:\/\//, 90_000, 'the Marathon URL');
  const marathon = /(http:\/\/\S+)/.exec(line)![1]!;

  // 1. Time a 100-instance app from POST to all running.
  const started = process.hrtime.bigint();
  const created = await json(`${marathon}/v2/apps`, {
    method: 'POST',
    body: JSON.stringify({ id: '/bench/big', cmd: 'sleep 3600', instances, cpus: 0.01, mem: 16 }),
  });
  if (created.status !== 201) throw new Error(`POST /v2/apps → ${created.status} ${JSON.stringify(created.body)}`);
  let running = 0;
  const until = Date.now() + DEADLINE_MS;
  while (running < instances) {
    if (Date.now() > until) throw new Error(`only ${running}/${instances} running after ${DEADLINE_MS} ms`);
    running = (await json(`${marathon}/v2/apps/bench/big`)).body.app.tasksRunning as number;
    if (running < instances) await new Promise((r) => setTimeout(r, 20));
  }
  const launchSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  // 2. Fill Marathon up to `appCount` apps and time the list.
  const apps = Array.from({ length: appCount - 1 }, (_, i) => ({ id: `app-${i}`, cmd: 'sleep 3600', instances: 0, cpus: 0.01, mem: 16 }));
  const group = await json(`${marathon}/v2/groups`, { method: 'POST', body: JSON.stringify({ id: '/bench/many', apps }) });
  if (group.status !== 201) throw new Error(`POST /v2/groups → ${group.status} ${JSON.stringify(group.body).slice(0, 500)}`);
  const listed = (await json(`${marathon}/v2/apps`)).body.apps.length as number;
  await timeGets(`${marathon}/v2/apps`, 5); // warm-up
  const plain = stats(await timeGets(`${marathon}/v2/apps`, requests));
  const embedded = stats(await timeGets(`${marathon}/v2/apps?embed=apps.tasks`, requests));

  console.log(JSON.stringify({
    bench: 'marathon',
    slaves: 3,
    launch: { instances, seconds_to_all_running: Math.round(launchSeconds * 100) / 100 },
    list: { apps: listed, requests, get_v2_apps_ms: plain, get_v2_apps_embed_tasks_ms: embedded },
  }));
} finally {
  local.signal('SIGINT');
  await local.waitForExit(60_000).catch(() => undefined);
  killProcessesUnder(workDir, { byCwd: true });
  fs.rmSync(workDir, { recursive: true, force: true });
  clearTimeout(deadline);
}
