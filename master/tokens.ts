/**
 * inversify service identifiers of the master's composition root (master/main.ts). Only
 * main.ts binds and resolves them.
 *
 * @module
 */
export const TOKENS = {
  Config: Symbol.for('agora.master.Config'),
  Clock: Symbol.for('agora.master.Clock'),
  Logger: Symbol.for('agora.master.Logger'),
  MasterInfo: Symbol.for('agora.master.MasterInfo'),
  State: Symbol.for('agora.master.State'),
  Allocate: Symbol.for('agora.master.Allocate'),
  Master: Symbol.for('agora.master.Master'),
  SchedulerHandler: Symbol.for('agora.master.SchedulerHandler'),
  AgentEndpoint: Symbol.for('agora.master.AgentEndpoint'),
  OperatorApp: Symbol.for('agora.master.OperatorApp'),
  Elector: Symbol.for('agora.master.Elector'),
  Registry: Symbol.for('agora.master.Registry'),
} as const;
