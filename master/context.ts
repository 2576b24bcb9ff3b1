/**
 * What the master's behaviour modules share: the state model, the live connections, named
 * timers, offer filters, config and clock. Each module (frameworks, agents, offers, tasks,
 * scheduler calls, status updates) is a set of functions of this context, so each can be
 * driven in a test with a fake context.
 *
 * @module
 */
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import type { AgentInfo } from '../sdk/protocol/index.js';
import type { MasterConfig } from './config.js';
import type { Connections } from './connections.js';
import type { IdGenerator } from './ids.js';
import type { MasterState } from './model.js';
import type { OfferFilters } from './offer-filters.js';
import type { RemovalQueue } from './removal-rate-limit.js';
import type { Timers } from './timers.js';

/**
 * Registry writes the behaviour modules trigger without waiting (removals, disconnects);
 * the master queues them in order behind the writes it does wait for. Absent when the
 * master runs without a registry (unit tests driving the core directly).
 */
export interface RegistryHooks {
  /** Forgets an agent (removed, not unreachable). */
  agentRemoved(agentId: string): void;
  /**
   * Marks an agent unreachable at `at`. Unlike the other hooks the caller waits: the promise
   * resolves once the mark is durable (the task updates go out only then, as in Mesos), and
   * rejects when the write failed. It never settles once the master is closed.
   */
  agentUnreachable(agentId: string, at: number): Promise<void>;
  /** Re-admits an agent (it re-registered while its unreachable mark was being written). */
  agentReadmitted(agentId: string, info: AgentInfo, at: number): void;
  frameworkDisconnected(frameworkId: string, deadlineMs: number): void;
  frameworkRemoved(frameworkId: string): void;
}

export interface MasterContext {
  readonly state: MasterState;
  readonly config: MasterConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly ids: IdGenerator;
  readonly conns: Connections;
  readonly timers: Timers;
  readonly filters: OfferFilters;
  /** Agents waiting for the removal rate limit (payload: why they are removed). */
  readonly removals: RemovalQueue<string>;
  /** Schedules one allocation run (coalesced: many requests in a tick → one run). */
  requestAllocation(): void;
  /** Durable registry writes (see {@link RegistryHooks}); absent without a registry. */
  readonly registry?: RegistryHooks;
}
