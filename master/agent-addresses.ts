/**
 * Agents by address (hostname, port, connecting ip): what `register` needs to find the
 * inactive agent a restarted slave leaves behind (Mesos removes it as restarted) without
 * scanning every agent — with 15,000 agents that scan made registration quadratic.
 *
 * The index may hold stale ids (an agent since removed or moved): callers check each
 * candidate against the live record, so staleness costs a lookup, never a wrong removal.
 *
 * @module
 */
import type { AgentRecord } from './model.js';

/** One string per address; JSON, so that no hostname or ip can make two addresses collide. */
function addressKey(hostname: string, port: number, ip: string): string {
  return JSON.stringify([hostname, port, ip]);
}

export class AgentAddressIndex {
  private readonly byAddress = new Map<string, Set<string>>();
  /** agent id → the key it is filed under. */
  private readonly keyOf = new Map<string, string>();

  /** Files (or re-files, after its address changed) an agent under its current address. */
  put(agent: Pick<AgentRecord, 'id' | 'hostname' | 'port' | 'ip'>): void {
    const key = addressKey(agent.hostname, agent.port, agent.ip);
    const old = this.keyOf.get(agent.id);
    if (old === key) return;
    if (old !== undefined) this.unfile(agent.id, old);
    this.keyOf.set(agent.id, key);
    let ids = this.byAddress.get(key);
    if (ids === undefined) this.byAddress.set(key, (ids = new Set()));
    ids.add(agent.id);
  }

  delete(agentId: string): void {
    const key = this.keyOf.get(agentId);
    if (key === undefined) return;
    this.keyOf.delete(agentId);
    this.unfile(agentId, key);
  }

  /** Ids filed under this address (a copy: callers may remove agents while iterating). */
  at(hostname: string, port: number, ip: string): string[] {
    const ids = this.byAddress.get(addressKey(hostname, port, ip));
    return ids === undefined ? [] : [...ids];
  }

  get size(): number {
    return this.keyOf.size;
  }

  private unfile(agentId: string, key: string): void {
    const ids = this.byAddress.get(key);
    if (ids === undefined) return;
    ids.delete(agentId);
    if (ids.size === 0) this.byAddress.delete(key);
  }
}
