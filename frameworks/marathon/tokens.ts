/**
 * inversify service identifiers of Marathon's composition root (frameworks/marathon/main.ts).
 * Only main.ts binds and resolves them.
 *
 * @module
 */
export const TOKENS = {
  Options: Symbol.for('agora.marathon.Options'),
  Clock: Symbol.for('agora.marathon.Clock'),
  Logger: Symbol.for('agora.marathon.Logger'),
  Store: Symbol.for('agora.marathon.Store'),
  Engine: Symbol.for('agora.marathon.Engine'),
  ApiApp: Symbol.for('agora.marathon.ApiApp'),
} as const;
