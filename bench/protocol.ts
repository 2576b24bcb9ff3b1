/**
 * `protocol`: messages per second through the message validation of the hot protocol
 * messages, the zod path (`slowParseJson`: stripNulls + zod) against `safeParseJson` (the
 * generated fast validators of sdk/protocol/fast-parse.ts, zod only when they step aside),
 * each with and without the `JSON.parse` before it; and the microseconds each process of the
 * `launch` bench spends parsing the messages of one task (master: 1/20 of an ACCEPT of 20
 * tasks, 2 status_update, 2 ACKNOWLEDGE; emulated slave: run_task, 2 status_update_ack;
 * framework: 2 UPDATE, 1/2000 of an OFFERS of 100 offers, each used for 20 tasks).
 *
 *   node dist/bench/protocol.js [--quick] [--json]
 *
 * In-process, no other process. The two paths alternate round by round (quick: 3 rounds of
 * 100 ms each, full: 7 of 300 ms) and each figure is the median round, so a load that comes
 * and goes touches both alike.
 *
 * @module
 */
import type { z } from 'zod';
import {
  AgentMessage, MasterMessage, SchedulerCall, SchedulerEvent, ExecutorCall, safeParseJson, slowParseJson,
} from '../sdk/protocol/index.js';
import { runBench } from './lib/run.js';
import { median, round } from './lib/stats.js';

const FW = '655a71a8-8eb2-4398-a8de-e09310f4d3f4-0000';
const AGENT = '655a71a8-8eb2-4398-a8de-e09310f4d3f4-S0';
const UUID = 'muxXMqtYcyDUHKK6lYQoMg==';
const task = (i: number): unknown => ({
  name: `bench-launch-${i}`, task_id: { value: `bench-launch-${i}` }, agent_id: { value: AGENT },
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, role: '*', allocation_info: { role: '*' } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, role: '*', allocation_info: { role: '*' } },
  ],
  command: { value: 'true', shell: true },
});
const status = (state: string): unknown => ({
  task_id: { value: 'bench-launch-0' }, state, source: 'SOURCE_EXECUTOR', executor_id: { value: 'agora-command-executor' },
  agent_id: { value: AGENT }, timestamp: 1795686618.077, uuid: UUID,
});
const offer = (i: number): unknown => ({
  id: { value: `655a71a8-O${i}` }, framework_id: { value: FW }, agent_id: { value: `655a71a8-S${i}` }, hostname: `emu-${i}`,
  url: { scheme: 'http', address: { hostname: `emu-${i}`, ip: '127.0.0.1', port: 5051 }, path: '/slave(1)' },
  resources: ['cpus', 'mem', 'disk'].map((name) => ({ name, type: 'SCALAR', scalar: { value: 32 }, allocation_info: { role: '*' }, role: '*' })),
  attributes: [], executor_ids: [], allocation_info: { role: '*' },
});

/** The hot messages as the launch bench's processes send them (captured from a run). */
const MESSAGES: Record<string, [z.ZodType, string]> = {
  status_update: [AgentMessage, JSON.stringify({
    type: 'status_update', update: { framework_id: { value: FW }, executor_id: { value: 'agora-command-executor' }, status: status('TASK_RUNNING') },
  })],
  run_task: [MasterMessage, JSON.stringify({
    type: 'run_task', framework: { user: 'root', name: 'bench-launch', failover_timeout: 60, id: { value: FW } }, task: task(0),
  })],
  status_update_ack: [MasterMessage, JSON.stringify({ type: 'status_update_ack', framework_id: { value: FW }, task_id: { value: 'bench-launch-0' }, uuid: UUID })],
  ACCEPT_20_tasks: [SchedulerCall, JSON.stringify({
    type: 'ACCEPT', framework_id: { value: FW },
    accept: { offer_ids: [{ value: '655a71a8-O0' }], operations: [{ type: 'LAUNCH', launch: { task_infos: Array.from({ length: 20 }, (_, i) => task(i)) } }] },
  })],
  ACKNOWLEDGE: [SchedulerCall, JSON.stringify({
    type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: AGENT }, task_id: { value: 'bench-launch-0' }, uuid: UUID }, framework_id: { value: FW },
  })],
  DECLINE: [SchedulerCall, JSON.stringify({
    type: 'DECLINE', decline: { offer_ids: [1, 2, 3].map((i) => ({ value: `655a71a8-O${i}` })), filters: { refuse_seconds: 60 } }, framework_id: { value: FW },
  })],
  UPDATE: [SchedulerEvent, JSON.stringify({ type: 'UPDATE', update: { status: status('TASK_RUNNING') } })],
  OFFERS_100: [SchedulerEvent, JSON.stringify({ type: 'OFFERS', offers: { offers: Array.from({ length: 100 }, (_, i) => offer(i)) } })],
  executor_UPDATE: [ExecutorCall, JSON.stringify({
    executor_id: { value: 'agora-command-executor' }, framework_id: { value: FW }, type: 'UPDATE', update: { status: status('TASK_RUNNING') },
  })],
};

/** Messages of one task per process, with their weight (an ACCEPT carries 20 tasks, each of 100 offers 20). */
const PER_TASK: Record<string, Array<[string, number]>> = {
  master: [['ACCEPT_20_tasks', 1 / 20], ['status_update', 2], ['ACKNOWLEDGE', 2]],
  emulator: [['run_task', 1], ['status_update_ack', 2]],
  framework: [['UPDATE', 2], ['OFFERS_100', 1 / 2000]],
};

type Parse = (schema: z.ZodType, json: unknown) => { success: boolean };

/** Calls per second of `fn` over `ms` of wall time. */
function rate(fn: () => void, ms: number): number {
  let calls = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 50; i++) fn();
    calls += 50;
    now = process.hrtime.bigint();
  }
  return calls / (Number(now - start) / 1e9);
}

function measure(schema: z.ZodType, text: string, parse: Parse, withJson: boolean, ms: number): number {
  const json: unknown = JSON.parse(text);
  if (!parse(schema, json).success) throw new Error('a bench message does not validate');
  return withJson ? rate(() => parse(schema, JSON.parse(text)), ms) : rate(() => parse(schema, json), ms);
}

await runBench({
  name: 'protocol',
  budgetMs: { quick: 60_000, full: 300_000 },
  targets: [],
  anchor: 'zod 4 with its JIT, the validator every message went through before',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 7;
    const ms = ctx.quick ? 100 : 300;
    const figures: Record<string, unknown> = {};
    const perMessageUs: Record<string, { zod: number; fast: number }> = {};
    for (const [name, [schema, text]] of Object.entries(MESSAGES)) {
      ctx.note(name);
      const samples = { zod: [] as number[], fast: [] as number[], zodJson: [] as number[], fastJson: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        samples.zod.push(measure(schema, text, slowParseJson, false, ms));
        samples.fast.push(measure(schema, text, safeParseJson, false, ms));
        samples.zodJson.push(measure(schema, text, slowParseJson, true, ms));
        samples.fastJson.push(measure(schema, text, safeParseJson, true, ms));
      }
      const zod = median(samples.zod);
      const fast = median(samples.fast);
      const zodJson = median(samples.zodJson);
      const fastJson = median(samples.fastJson);
      perMessageUs[name] = { zod: 1e6 / zodJson, fast: 1e6 / fastJson };
      figures[name] = {
        bytes: text.length,
        validate_per_s: { zod: Math.round(zod), fast: Math.round(fast), speedup: round(fast / zod, 1) },
        json_parse_and_validate_per_s: { zod: Math.round(zodJson), fast: Math.round(fastJson), speedup: round(fastJson / zodJson, 1) },
      };
    }
    const perTask: Record<string, unknown> = {};
    for (const [process, messages] of Object.entries(PER_TASK)) {
      let zod = 0;
      let fast = 0;
      for (const [name, weight] of messages) {
        zod += weight * perMessageUs[name]!.zod;
        fast += weight * perMessageUs[name]!.fast;
      }
      perTask[process] = { zod: round(zod, 2), fast: round(fast, 2) };
    }
    figures.parse_us_per_task = perTask;
    return { params: { rounds, round_ms: ms, messages: Object.keys(MESSAGES) }, figures };
  },
});
