/**
 * {@link TestClusterOptions}: validated and completed once, in `TestCluster.create`. A bad
 * option is an `AGORA_TESTING_BAD_OPTIONS` error naming it, before anything starts.
 *
 * @module
 */
import type { Logger } from 'pino';
import { AgoraError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import type { Attribute, Resource } from '../protocol/index.js';
import { parseAttributes, parseResources } from '../resources/index.js';
import type { InMemoryMasterFlags } from '../../master/in-memory.js';
import type { SimDefaults } from '../../slave/sim/task-plan.js';
import { TESTING_BAD_OPTIONS } from './errors.js';

/** One simulated slave of a {@link TestClusterOptions}. */
export interface TestSlaveSpec {
  /** Default `slave-<i>`. */
  hostname?: string;
  /** `--resources` syntax. Default the cluster's `resources`. */
  resources?: string;
  /** `--attributes` syntax (`rack:r1;zone:a`). Default none. */
  attributes?: string;
  /** Task defaults for this slave (the `agora.sim.*` labels of a task override them). */
  sim?: Partial<SimDefaults>;
}

/** What `TestCluster.create` accepts. Every field is optional and documents its default. */
export interface TestClusterOptions {
  /** Default 1: how many simulated slaves (or one spec per slave). At most 10000. */
  slaves?: number | TestSlaveSpec[];
  /**
   * Default `'virtual'`: a {@link VirtualClock} that moves only when the test says so
   * (`advance`, `waitFor`), or the `'real'` system clock.
   */
  clock?: 'virtual' | 'real';
  /**
   * Default `'memory'`: messages cross in memory, as JSON text through the real parsers.
   * `'socket'` (real clock only): a real master on 127.0.0.1 (OS-picked port) reached over
   * HTTP and WebSockets.
   */
  transport?: 'memory' | 'socket';
  /** Default 1: seeds the ids and every random draw (same seed + same calls → same events). */
  seed?: number;
  /** Default `Date.UTC(2026, 0, 1)`: the virtual clock's start (ms since the epoch). */
  startMs?: number;
  /** Default `cpus:4;mem:4096;disk:10000;ports:[31000-32000]`: each slave's resources. */
  resources?: string;
  /** Task defaults of every slave (`durationMs`, `exitCode`, `failureRate`, `startDelayMs`); default: tasks run forever. */
  sim?: Partial<SimDefaults>;
  /** Master flags (ping timeout, offer timeout, heartbeat interval, …); the master's defaults otherwise. */
  master?: InMemoryMasterFlags;
  /** Default 0: in-memory delivery latency (ms of cluster time) of every message. */
  latencyMs?: number;
  /** Default 100000: timers one `runUntilIdle` may fire at one instant before it reports a livelock. */
  stepLimit?: number;
  /** Default: silent. The master's and slaves' logger. */
  logger?: Logger;
}

/** A slave spec with its parsed resources. */
export interface CompiledSlave {
  hostname: string;
  resources: Resource[];
  attributes: Attribute[];
  sim: Partial<SimDefaults>;
}

/** {@link TestClusterOptions} checked, with defaults. */
export interface CompiledClusterOptions {
  slaves: CompiledSlave[];
  clock: 'virtual' | 'real';
  transport: 'memory' | 'socket';
  seed: number;
  startMs: number;
  master: InMemoryMasterFlags;
  latencyMs: number;
  stepLimit: number;
  logger: Logger;
}

export const DEFAULT_SLAVE_RESOURCES = 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]';
export const DEFAULT_START_MS = Date.UTC(2026, 0, 1);
const MAX_SLAVES = 10_000;
const KNOWN = new Set(['slaves', 'clock', 'transport', 'seed', 'startMs', 'resources', 'sim', 'master', 'latencyMs', 'stepLimit', 'logger']);

function bad(message: string, cause?: unknown): never {
  throw new AgoraError(TESTING_BAD_OPTIONS, `invalid TestCluster options: ${message}`, cause === undefined ? undefined : { cause });
}

function parsed<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    return bad(`${what}: ${(err as Error).message}`, err);
  }
}

function nonNegative(name: string, v: unknown, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    bad(`${name} must be ${integer ? 'an integer' : 'a number'} >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks task defaults (`sim` of the cluster or of one slave). */
function checkSim(where: string, sim: unknown): Partial<SimDefaults> {
  if (sim === undefined) return {};
  if (typeof sim !== 'object' || sim === null || Array.isArray(sim)) bad(`${where} must be an object`);
  const known = new Set(['durationMs', 'exitCode', 'failureRate', 'startDelayMs']);
  const s = sim as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!known.has(key)) bad(`${where}: unknown field "${key}" (known: ${[...known].join(', ')})`);
  const d = s.durationMs;
  if (d !== undefined && d !== 'forever' && (typeof d !== 'number' || !Number.isFinite(d) || d < 0)) bad(`${where}.durationMs must be a number of ms >= 0 or 'forever', got ${JSON.stringify(d)}`);
  if (s.exitCode !== undefined && (!Number.isInteger(s.exitCode) || (s.exitCode as number) < 0 || (s.exitCode as number) > 255)) bad(`${where}.exitCode must be an integer in 0..255, got ${JSON.stringify(s.exitCode)}`);
  const r = s.failureRate;
  if (r !== undefined && (typeof r !== 'number' || !(r >= 0 && r <= 1))) bad(`${where}.failureRate must be a number in 0..1, got ${JSON.stringify(r)}`);
  nonNegative(`${where}.startDelayMs`, s.startDelayMs, 0);
  return s as Partial<SimDefaults>;
}

/** Validates options and fills defaults. @throws AgoraError `AGORA_TESTING_BAD_OPTIONS`. */
export function compileClusterOptions(o: TestClusterOptions | undefined): CompiledClusterOptions {
  const opts = o ?? {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) bad('options must be an object');
  for (const key of Object.keys(opts)) if (!KNOWN.has(key)) bad(`unknown option "${key}"`);
  const clock = opts.clock ?? 'virtual';
  if (clock !== 'virtual' && clock !== 'real') bad(`clock must be 'virtual' or 'real', got ${JSON.stringify(clock)}`);
  const transport = opts.transport ?? 'memory';
  if (transport !== 'memory' && transport !== 'socket') bad(`transport must be 'memory' or 'socket', got ${JSON.stringify(transport)}`);
  if (transport === 'socket' && clock === 'virtual') bad("transport 'socket' needs clock 'real' (sockets do not run on virtual time)");
  const seed = nonNegative('seed', opts.seed, 1, true);
  const startMs = nonNegative('startMs', opts.startMs, DEFAULT_START_MS);
  const latencyMs = nonNegative('latencyMs', opts.latencyMs, 0);
  const stepLimit = nonNegative('stepLimit', opts.stepLimit, 100_000, true);
  if (stepLimit < 1) bad('stepLimit must be >= 1');
  if (opts.master !== undefined && (typeof opts.master !== 'object' || opts.master === null)) bad('master must be an object of master flags');
  const sim = checkSim('sim', opts.sim);
  const defaultResources = opts.resources ?? DEFAULT_SLAVE_RESOURCES;
  if (typeof defaultResources !== 'string') bad('resources must be a --resources string');
  parsed('resources', () => parseResources(defaultResources));

  const raw = opts.slaves ?? 1;
  let specs: TestSlaveSpec[];
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0 || raw > MAX_SLAVES) bad(`slaves must be an integer in 0..${MAX_SLAVES} or a list of slave specs, got ${JSON.stringify(raw)}`);
    specs = Array.from({ length: raw }, () => ({}));
  } else if (Array.isArray(raw)) {
    if (raw.length > MAX_SLAVES) bad(`at most ${MAX_SLAVES} slaves`);
    specs = raw;
  } else {
    bad(`slaves must be a number or a list of slave specs, got ${JSON.stringify(raw)}`);
  }
  const slaves = specs.map((s, i): CompiledSlave => {
    if (typeof s !== 'object' || s === null) bad(`slaves[${i}] must be an object`);
    const hostname = s.hostname ?? `slave-${i}`;
    if (typeof hostname !== 'string' || hostname === '') bad(`slaves[${i}].hostname must be a non-empty string`);
    const resources = parsed(`slaves[${i}].resources`, () => parseResources(s.resources ?? defaultResources));
    const attributes = s.attributes === undefined ? [] : parsed(`slaves[${i}].attributes`, () => parseAttributes(s.attributes!));
    return { hostname, resources, attributes, sim: { ...sim, ...checkSim(`slaves[${i}].sim`, s.sim) } };
  });
  return {
    slaves, clock, transport, seed, startMs, latencyMs, stepLimit,
    master: opts.master ?? {},
    logger: opts.logger ?? silentLogger(),
  };
}
