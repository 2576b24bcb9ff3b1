/**
 * `/metrics/snapshot` (flat JSON, Mesos metric names) and `/metrics` (the same numbers in
 * Prometheus's text exposition format 0.0.4).
 *
 * Mesos semantics kept: `master/tasks_{staging,starting,running,killing,unreachable}` are
 * gauges over live tasks, the terminal ones (`finished`, `failed`, …) are counters;
 * `master/<res>_used` is what tasks and executors hold (offers excluded) and
 * `master/<res>_percent` is `used / total` as a fraction (0 when the total is 0).
 *
 * Prometheus names are `agora_` + the Mesos name with every character outside
 * `[a-zA-Z0-9_]` replaced by `_`: `master/tasks_running` → `agora_master_tasks_running`.
 *
 * @module
 */
import type { Resource } from '../../sdk/protocol/index.js';
import { scalarOf } from '../../sdk/resources/index.js';
import type { MasterState } from '../model.js';

/** Metric name → value, as `/metrics/snapshot` returns it. */
export type MetricsSnapshot = Record<string, number>;

/** Mesos metric names that are counters (monotonic); every other metric is a gauge. */
export const COUNTER_METRICS: ReadonlySet<string> = new Set([
  'master/tasks_finished', 'master/tasks_failed', 'master/tasks_killed', 'master/tasks_lost',
  'master/tasks_error', 'master/tasks_dropped', 'master/tasks_gone', 'master/tasks_gone_by_operator',
  'master/slave_registrations', 'master/slave_reregistrations', 'master/slave_removals',
  'master/valid_status_updates', 'master/invalid_status_updates', 'master/messages_decline_offers',
  'master/offers_sent', 'master/offers_accepted', 'master/offers_declined', 'master/offers_rescinded',
  'master/messages_received', 'master/invalid_calls', 'master/frameworks_removed',
]);

const RESOURCE_NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;

function ratio(used: number, total: number): number {
  return total > 0 ? used / total : 0;
}

/**
 * The master's metrics at `now`. `extra` (e.g. `system/*` gauges the router reads from the
 * OS) is merged in; state-derived names win on a clash.
 */
export function metricsSnapshot(state: MasterState, opts: { now: number; isLeader: boolean; extra?: MetricsSnapshot }): MetricsSnapshot {
  const agents = [...state.agents.values()];
  const frameworks = [...state.frameworks.values()];
  const live: Record<string, number> = {
    TASK_STAGING: 0, TASK_STARTING: 0, TASK_RUNNING: 0, TASK_KILLING: 0, TASK_UNREACHABLE: 0,
  };
  for (const byId of state.tasks.values()) for (const t of byId.values()) if (t.state in live) live[t.state] = (live[t.state] ?? 0) + 1;
  const c = state.counters;

  const m: MetricsSnapshot = { ...(opts.extra ?? {}) };
  m['master/uptime_secs'] = Math.max(0, (opts.now - state.startedAt) / 1000);
  m['master/elected'] = opts.isLeader ? 1 : 0;
  // Agora has one flag per agent: connected agents are active, disconnected ones inactive.
  m['master/slaves_active'] = agents.filter((a) => a.active).length;
  m['master/slaves_inactive'] = agents.filter((a) => !a.active).length;
  m['master/slaves_connected'] = agents.filter((a) => a.active).length;
  m['master/slaves_disconnected'] = agents.filter((a) => !a.active).length;
  m['master/slaves_unreachable'] = state.unreachableAgents.size;
  m['master/frameworks_active'] = frameworks.filter((f) => f.connected).length;
  m['master/frameworks_inactive'] = frameworks.filter((f) => !f.connected).length;
  m['master/frameworks_connected'] = frameworks.filter((f) => f.connected).length;
  m['master/frameworks_disconnected'] = frameworks.filter((f) => !f.connected).length;
  m['master/outstanding_offers'] = state.offers.size;

  m['master/tasks_staging'] = live.TASK_STAGING ?? 0;
  m['master/tasks_starting'] = live.TASK_STARTING ?? 0;
  m['master/tasks_running'] = live.TASK_RUNNING ?? 0;
  m['master/tasks_killing'] = live.TASK_KILLING ?? 0;
  m['master/tasks_unreachable'] = live.TASK_UNREACHABLE ?? 0;
  m['master/tasks_finished'] = c.tasksFinished;
  m['master/tasks_failed'] = c.tasksFailed;
  m['master/tasks_killed'] = c.tasksKilled;
  m['master/tasks_lost'] = c.tasksLost;
  m['master/tasks_error'] = c.tasksError;
  m['master/tasks_dropped'] = c.tasksDropped;
  m['master/tasks_gone'] = c.tasksGone;
  m['master/tasks_gone_by_operator'] = 0;

  const total: Resource[] = agents.flatMap((a) => a.total);
  const used: Resource[] = agents.flatMap((a) => a.used);
  for (const name of RESOURCE_NAMES) {
    const t = scalarOf(total, name);
    const u = scalarOf(used, name);
    m[`master/${name}_total`] = t;
    m[`master/${name}_used`] = u;
    m[`master/${name}_percent`] = ratio(u, t);
    // Agora has no revocable resources; the names exist for dashboards that expect them.
    m[`master/${name}_revocable_total`] = 0;
    m[`master/${name}_revocable_used`] = 0;
    m[`master/${name}_revocable_percent`] = 0;
  }

  m['master/slave_registrations'] = c.slaveRegistrations;
  m['master/slave_reregistrations'] = c.slaveReregistrations;
  m['master/slave_removals'] = c.slaveRemovals;
  m['master/valid_status_updates'] = c.validStatusUpdates;
  m['master/invalid_status_updates'] = c.invalidStatusUpdates;
  m['master/messages_decline_offers'] = c.offersDeclined;
  // No libprocess event queue: always empty.
  m['master/event_queue_messages'] = 0;
  m['master/event_queue_dispatches'] = 0;
  m['master/event_queue_http_requests'] = 0;
  // Agora extensions (not Mesos names).
  m['master/offers_sent'] = c.offersSent;
  m['master/offers_accepted'] = c.offersAccepted;
  m['master/offers_declined'] = c.offersDeclined;
  m['master/offers_rescinded'] = c.offersRescinded;
  m['master/messages_received'] = c.messagesReceived;
  m['master/invalid_calls'] = c.invalidCalls;
  m['master/frameworks_removed'] = c.frameworksRemoved;
  return m;
}

/** The Prometheus name of a Mesos metric: `agora_` + name with non-`[a-zA-Z0-9_]` → `_`. */
export function prometheusName(mesosName: string): string {
  return `agora_${mesosName.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

function promValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * Prometheus text exposition format 0.0.4: for each metric, sorted by name, a `# HELP`
 * line (naming the Mesos metric), a `# TYPE` line and the sample. Serve it with
 * `Content-Type: text/plain; version=0.0.4`.
 */
export function renderPrometheus(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const name of Object.keys(snapshot).sort()) {
    const prom = prometheusName(name);
    lines.push(`# HELP ${prom} Mesos metric ${name}`);
    lines.push(`# TYPE ${prom} ${COUNTER_METRICS.has(name) ? 'counter' : 'gauge'}`);
    lines.push(`${prom} ${promValue(snapshot[name]!)}`);
  }
  return lines.join('\n') + '\n';
}

/** Content-Type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
