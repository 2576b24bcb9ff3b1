/**
 * The benchmarks `agora bench` knows, in the order `agora bench all` runs them: name, the
 * script under dist/bench/, and one line on what it measures. Adding a bench = a script
 * calling runBench (./run.ts) + a line here + a table in BENCHMARKS.md.
 *
 * @module
 */

export interface BenchEntry {
  name: string;
  /** The compiled script, relative to dist/bench/. */
  script: string;
  summary: string;
}

export const BENCHES: readonly BenchEntry[] = [
  { name: 'allocator', script: 'allocator.js', summary: 'one pure DRF allocation pass, agents x frameworks (in-process)' },
  { name: 'launch', script: 'launch.js', summary: 'an SDK framework launching T tasks on N emulated slaves, cold then warm, then paced twice: tasks/s, ACCEPT→RUNNING p50/p99' },
  { name: 'offers', script: 'offers.js', summary: 'task finished → its freed resources offered again: p50/p99' },
  { name: 'agents', script: 'agents.js', summary: 'N emulated slaves heartbeating: master CPU, RSS, misses, /master/state latency' },
  { name: 'spawn', script: 'spawn.js', summary: 'real `true` tasks on one slave vs the raw /bin/true spawn rate' },
  { name: 'marathon', script: 'marathon.js', summary: 'a 1,000-instance app on emulated slaves; GET /v2/apps with 1,000 apps' },
  { name: 'failover', script: 'failover.js', summary: 'SIGKILL of the leading master: election, slaves and framework back (needs ZooKeeper)' },
];

/** The entry named `name`, or undefined. */
export function findBench(name: string): BenchEntry | undefined {
  return BENCHES.find((b) => b.name === name);
}
