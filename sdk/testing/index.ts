/**
 * The SDK's test kit: a whole Agora cluster in one process — a real master and simulated
 * slaves — on a virtual clock over an in-memory transport, with fault injection, for
 * testing frameworks without processes, sockets or waiting. See docs/testing.md.
 *
 * @example
 * import { TestCluster } from 'agora/sdk/testing';
 * const cluster = await TestCluster.create({ slaves: 3 });
 * const scheduler = cluster.scheduler({ frameworkInfo: { user: 'me', name: 'demo' } });
 *
 * @module
 */
export { TestCluster, TestSlave } from './cluster.js';
export type { ClusterSchedulerOptions, WaitForOptions } from './cluster.js';
export type { TestClusterOptions, TestSlaveSpec } from './options.js';
export { DEFAULT_SLAVE_RESOURCES, DEFAULT_START_MS } from './options.js';
export { VirtualClock, nextTurn } from './virtual-clock.js';
export type { VirtualClockOptions, VirtualTimer } from './virtual-clock.js';
export { ClusterDetector } from './fabric.js';
export {
  TESTING_BAD_OPTIONS, TESTING_BAD_INPUT, TESTING_TIMEOUT, TESTING_LIVELOCK, TESTING_CLOSED,
} from './errors.js';
export { SIM_LABELS } from '../../slave/sim/task-plan.js';
export type { SimDefaults } from '../../slave/sim/task-plan.js';
