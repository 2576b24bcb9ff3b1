/**
 * inversify tokens of the slave's composition root (slave/main.ts). Only main.ts binds and
 * resolves them.
 *
 * @module
 */
export const TOKENS = {
  Config: Symbol.for('agora.slave.Config'),
  Clock: Symbol.for('agora.slave.Clock'),
  Logger: Symbol.for('agora.slave.Logger'),
  Containerizer: Symbol.for('agora.slave.Containerizer'),
  MasterLink: Symbol.for('agora.slave.MasterLink'),
  LeaderDetector: Symbol.for('agora.slave.LeaderDetector'),
  SandboxFiles: Symbol.for('agora.slave.SandboxFiles'),
  Slave: Symbol.for('agora.slave.Slave'),
} as const;
