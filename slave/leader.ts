/**
 * Which master the slave dials, purely: the master link asks these functions what to do
 * with the leader a {@link LeaderDetector} reports (a fixed `host:port` in standalone mode,
 * the lowest `json.info_<seq>` znode's MasterInfo JSON with `--master zk://…`).
 *
 * @module
 */
import { leaderAddress } from '../sdk/scheduler/leader.js';
import type { MasterLinkState } from './master-link.js';

/** The master's agent endpoint path. */
export const AGENT_API_PATH = '/api/v1/agent';

/**
 * The agent WebSocket URL of the master a detector's leader data names, or undefined when
 * there is no (usable) leader.
 *
 * @example
 * agentUrlFor('{"id":"m2","ip":0,"port":5060,"address":{"ip":"10.0.0.2","port":5060}}') // 'ws://10.0.0.2:5060/api/v1/agent'
 * agentUrlFor('ws://127.0.0.1:5050/api/v1/agent') // 'ws://127.0.0.1:5050/api/v1/agent'
 * agentUrlFor(undefined) // undefined
 */
export function agentUrlFor(leaderData: string | undefined): string | undefined {
  const address = leaderAddress(leaderData);
  if (address === undefined) return undefined;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${address.protocol === 'https:' ? 'wss' : 'ws'}://${host}:${address.port}${AGENT_API_PATH}`;
}

/** What the link knows when the detector reports a leader. */
export interface LeaderChangeInput {
  /** {@link agentUrlFor} of the reported leader. */
  leaderUrl: string | undefined;
  /** The URL of the socket the link has (or last dialled). */
  dialedUrl: string | undefined;
  state: MasterLinkState;
  /** A reconnection is scheduled (backing off). */
  reconnectPending: boolean;
}

/**
 * - `keep`: nothing to do (no leader: stay on whatever socket there is, or keep waiting;
 *   same leader: the socket, or the scheduled reconnection, already goes there).
 * - `switch`: drop the socket (if any) and dial the new leader soon (after a short jitter,
 *   so that the slaves of a failed-over master do not all arrive at once), re-registering
 *   with the agent id.
 */
export type LeaderChangeAction = 'keep' | 'switch';

/**
 * Decides how the master link reacts to a reported leader.
 *
 * @example
 * decideOnLeaderChange({ leaderUrl: 'ws://b/api/v1/agent', dialedUrl: 'ws://a/api/v1/agent', state: 'registered', reconnectPending: false }) // 'switch'
 * decideOnLeaderChange({ leaderUrl: undefined, dialedUrl: 'ws://a/api/v1/agent', state: 'registered', reconnectPending: false })          // 'keep'
 */
export function decideOnLeaderChange(i: LeaderChangeInput): LeaderChangeAction {
  if (i.state === 'closed' || i.leaderUrl === undefined) return 'keep';
  if (i.leaderUrl !== i.dialedUrl) return 'switch';
  if (i.state === 'disconnected' && !i.reconnectPending) return 'switch'; // waiting for a leader: dial it
  return 'keep';
}
