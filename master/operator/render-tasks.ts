/**
 * `/master/tasks`: the known tasks (live and completed), filtered, sorted by start time
 * (the first status's timestamp, Mesos's `TaskComparator`) and paged.
 *
 * Query (Mesos's): `limit` (default 100), `offset` (default 0), `order=asc|desc` (default
 * desc), `framework_id`, `task_id`.
 *
 * @module
 */
import type { MasterState, TaskRecord } from '../model.js';
import { renderTask, type Json } from './render-state.js';
import { allTasks } from './render-summary.js';

export interface TasksQuery {
  limit: number;
  offset: number;
  order: 'asc' | 'desc';
  frameworkId?: string;
  taskId?: string;
}

export const DEFAULT_TASKS_LIMIT = 100;

/** A query string value as express's parser gives it. */
export type QueryValue = unknown;

/** The query is valid, or why not (the router answers 400 with the message). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function single(name: string, v: QueryValue): Parsed<string | undefined> {
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== 'string') return { ok: false, error: `Query parameter '${name}' must be given once, as a string` };
  return { ok: true, value: v };
}

function nonNegativeInt(name: string, v: QueryValue, dflt: number): Parsed<number> {
  const s = single(name, v);
  if (!s.ok) return s;
  if (s.value === undefined) return { ok: true, value: dflt };
  if (!/^\d{1,15}$/.test(s.value)) return { ok: false, error: `Failed to parse '${name}': '${s.value}' is not a non-negative integer` };
  return { ok: true, value: Number(s.value) };
}

/** Validates `/master/tasks` query parameters; unknown parameters are ignored, like Mesos. */
export function parseTasksQuery(q: Record<string, QueryValue>): Parsed<TasksQuery> {
  const limit = nonNegativeInt('limit', q.limit, DEFAULT_TASKS_LIMIT);
  if (!limit.ok) return limit;
  const offset = nonNegativeInt('offset', q.offset, 0);
  if (!offset.ok) return offset;
  const order = single('order', q.order);
  if (!order.ok) return order;
  if (order.value !== undefined && order.value !== 'asc' && order.value !== 'desc') {
    return { ok: false, error: `Invalid 'order': '${order.value}' (expected 'asc' or 'desc')` };
  }
  const frameworkId = single('framework_id', q.framework_id);
  if (!frameworkId.ok) return frameworkId;
  const taskId = single('task_id', q.task_id);
  if (!taskId.ok) return taskId;
  const value: TasksQuery = { limit: limit.value, offset: offset.value, order: order.value ?? 'desc' };
  if (frameworkId.value !== undefined) value.frameworkId = frameworkId.value;
  if (taskId.value !== undefined) value.taskId = taskId.value;
  return { ok: true, value };
}

function startTime(t: TaskRecord): number {
  return t.statuses[0]?.timestamp ?? 0;
}

/** Body of `/master/tasks`. */
export function renderTasks(state: MasterState, query: TasksQuery): Json {
  const selected = allTasks(state).filter((t) =>
    (query.frameworkId === undefined || t.frameworkId === query.frameworkId) &&
    (query.taskId === undefined || t.info.task_id.value === query.taskId));
  const sign = query.order === 'asc' ? 1 : -1;
  selected.sort((x, y) => {
    const byTime = startTime(x) - startTime(y);
    if (byTime !== 0) return sign * byTime;
    const a = x.info.task_id.value;
    const b = y.info.task_id.value;
    return sign * (a < b ? -1 : a > b ? 1 : 0);
  });
  return { tasks: selected.slice(query.offset, query.offset + query.limit).map(renderTask) };
}
