/**
 * The master registry: interface, the pure operations, and the two stores.
 *
 * @module
 */
export * from './types.js';
export { FileRegistry, REGISTRY_FILE, REGISTRY_LOG_FILE, MIN_COMPACTION_BYTES, readFileRegistrySync, composeFileRegistry } from './file.js';
export {
  ZkRegistry, MAX_REGISTRY_BYTES, MAX_REGISTRY_NODE_BYTES, LOG_FROM_BYTES, MAX_LOG_PIECES, PACE_FROM_MS, APPEND_INTERVAL_MS, type RegistryZkSession, type ZkRegistryOptions,
} from './zk.js';
export { planRecovery, type RecoveryPlan } from './recovery.js';
export { unreachableAgentsToPrune, type RegistryGcLimits } from './gc.js';
