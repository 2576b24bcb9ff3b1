/**
 * The master core: owns the context (state, connections, timers, filters, allocation loop)
 * and routes what arrives from the two edges — scheduler calls (scheduler-api/http.ts) and
 * slave messages (agent-endpoint.ts) — to the behaviour modules. Plain class, no
 * decorators: master/main.ts constructs it.
 *
 * @module
 */
import type { Clock } from '../sdk/core/clock.js';
import type { Logger } from '../sdk/core/log.js';
import type { AgentMessage, SchedulerCall } from '../sdk/protocol/index.js';
import type { AgentMessageHandler } from './agent-endpoint.js';
import { agentDisconnected, handlePong, registerAgent, reregisterAgent } from './agents.js';
import { AllocationLoop, type AllocateFn } from './allocation.js';
import type { MasterConfig } from './config.js';
import { Connections, type AgentLink } from './connections.js';
import { OfferFilters, type MasterContext } from './context.js';
import { subscribeFramework } from './frameworks.js';
import { IdGenerator } from './ids.js';
import type { FrameworkRecord, MasterState } from './model.js';
import { handleSchedulerCall } from './scheduler-calls.js';
import type { CallResult, SchedulerCallHandler } from './scheduler-api/http.js';
import type { HttpEventStream } from './scheduler-api/stream.js';
import { handleExecutorExited, handleExecutorMessage, handleStatusUpdate } from './status-updates.js';
import { Timers } from './timers.js';

export class Master implements SchedulerCallHandler, AgentMessageHandler {
  readonly ctx: MasterContext;
  private readonly allocation: AllocationLoop;
  private closed = false;

  constructor(deps: { state: MasterState; config: MasterConfig; clock: Clock; logger: Logger; allocate: AllocateFn }) {
    const conns = new Connections(deps.logger);
    const timers = new Timers(deps.clock);
    const ctx: MasterContext = {
      state: deps.state,
      config: deps.config,
      clock: deps.clock,
      logger: deps.logger,
      ids: new IdGenerator(deps.state.info.id),
      conns,
      timers,
      filters: new OfferFilters(),
      requestAllocation: () => this.allocation.request(),
    };
    this.ctx = ctx;
    this.allocation = new AllocationLoop(ctx, deps.allocate);
  }

  get state(): MasterState {
    return this.ctx.state;
  }

  /** Runs an allocation now (tests, operator tooling); normally runs are event-driven. */
  allocateNow(): void {
    this.allocation.run();
  }

  // ---- scheduler API ----

  getFramework(frameworkId: string): FrameworkRecord | undefined {
    return this.ctx.state.frameworks.get(frameworkId);
  }

  subscribe(call: SchedulerCall, stream: HttpEventStream): void {
    if (this.closed) {
      stream.close();
      return;
    }
    subscribeFramework(this.ctx, call, stream);
  }

  handleCall(framework: FrameworkRecord, call: SchedulerCall): CallResult {
    return handleSchedulerCall(this.ctx, framework, call);
  }

  countInvalidCall(): void {
    this.ctx.state.counters.invalidCalls++;
  }

  // ---- agents ----

  onAgentMessage(link: AgentLink, message: AgentMessage): void {
    const { ctx } = this;
    ctx.state.counters.messagesReceived++;
    if (message.type === 'register') {
      registerAgent(ctx, link, message);
      return;
    }
    if (message.type === 'reregister') {
      reregisterAgent(ctx, link, message);
      return;
    }
    const agentId = link.agentId;
    if (agentId === undefined || !ctx.state.agents.has(agentId)) {
      link.send({ type: 'error', message: `'${message.type}' before registration; send 'register' or 'reregister' first` });
      return;
    }
    switch (message.type) {
      case 'pong':
        handlePong(ctx, agentId);
        return;
      case 'status_update':
        handleStatusUpdate(ctx, agentId, message.update);
        return;
      case 'executor_exited':
        handleExecutorExited(ctx, agentId, message);
        return;
      case 'executor_to_framework':
        handleExecutorMessage(ctx, agentId, message);
        return;
    }
  }

  onAgentDisconnected(link: AgentLink): void {
    if (this.closed) return;
    agentDisconnected(this.ctx, link);
  }

  /** Stops every timer and ends every framework stream (sockets are closed by their edges). */
  close(): void {
    this.closed = true;
    this.allocation.close();
    this.ctx.timers.cancelAll();
    for (const stream of this.ctx.conns.frameworkStreams.values()) stream.close();
    this.ctx.conns.frameworkStreams.clear();
  }
}
