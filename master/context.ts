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
import type { OfferFilter } from './allocator/types.js';
import type { MasterConfig } from './config.js';
import type { Connections } from './connections.js';
import type { IdGenerator } from './ids.js';
import type { MasterState } from './model.js';
import type { Timers } from './timers.js';

/** DECLINE/ACCEPT filters in force; the allocator prunes expired ones each run. */
export class OfferFilters {
  list: OfferFilter[] = [];

  add(filter: OfferFilter): void {
    this.list.push(filter);
  }
  /** REVIVE (and framework removal): the framework's filters go. */
  clearFramework(frameworkId: string): void {
    this.list = this.list.filter((f) => f.frameworkId !== frameworkId);
  }
  clearAgent(agentId: string): void {
    this.list = this.list.filter((f) => f.agentId !== agentId);
  }
}

/**
 * Registry writes the behaviour modules trigger without waiting (removals, disconnects);
 * the master queues them in order behind the writes it does wait for. Absent when the
 * master runs without a registry (unit tests driving the core directly).
 */
export interface RegistryHooks {
  agentRemoved(agentId: string, unreachableAt: number | undefined): void;
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
  /** Schedules one allocation run (coalesced: many requests in a tick → one run). */
  requestAllocation(): void;
  /** Durable registry writes (see {@link RegistryHooks}); absent without a registry. */
  readonly registry?: RegistryHooks;
}
