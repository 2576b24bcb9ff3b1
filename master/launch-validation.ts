/**
 * Pure validation of an ACCEPT call (Mesos master/validation.cpp `offer::validate`,
 * `task::validate`, `task::group::validate`): given the offers, the operations and what the
 * framework already runs, decide per task whether it launches, errors, or — when the offers
 * themselves are invalid — is dropped. The master applies the plan (see scheduler-calls.ts).
 *
 * @module
 */
import type { ExecutorInfo, OfferOperation, Resource, TaskInfo, TaskStatusReason } from '../sdk/protocol/index.js';
import {
  addResources, containsResources, isEmptyResources, subtractResources, unallocateResources,
} from '../sdk/resources/index.js';
import type { OfferRecord } from './model.js';

export interface AcceptInput {
  frameworkId: string;
  offerIds: readonly string[];
  operations: readonly OfferOperation[];
  /** Every outstanding offer (state.offers). */
  offers: ReadonlyMap<string, OfferRecord>;
  /** True when the framework already has a (non-completed) task with this id. */
  taskIdInUse(taskId: string): boolean;
  /** Executors the framework already runs on an agent. */
  executorsOnAgent(agentId: string): ReadonlyMap<string, ExecutorInfo>;
}

export interface TaskLaunch {
  kind: 'task';
  task: TaskInfo;
  /** An executor that is new on the agent and is charged with this task. */
  newExecutor?: ExecutorInfo;
}

export interface GroupLaunch {
  kind: 'group';
  executor: ExecutorInfo;
  newExecutor: boolean;
  tasks: TaskInfo[];
}

export interface TaskRejection {
  task: TaskInfo;
  reason: Extract<TaskStatusReason, 'REASON_TASK_INVALID' | 'REASON_TASK_GROUP_INVALID'>;
  message: string;
}

export interface AcceptPlan {
  /** Set when the offers are invalid: then nothing launches and every task is dropped/lost. */
  offerError?: string;
  /** Offers of this framework named in the call; they are removed whatever the verdict. */
  ownOfferIds: string[];
  agentId?: string;
  role?: string;
  launches: Array<TaskLaunch | GroupLaunch>;
  rejections: TaskRejection[];
  /** Every task in LAUNCH/LAUNCH_GROUP operations, in call order. */
  allTasks: TaskInfo[];
  /** Offered resources not used by any launch (unallocated), to recover with the call's filter. */
  leftover: Resource[];
  /** Operations ignored because the master does not support them (RESERVE, CREATE, …). */
  unsupported: string[];
}

/** Short human form of resources for error messages: `cpus:1; mem:128; ports:[31000-31001]`. */
export function describeResources(rs: readonly Resource[]): string {
  return rs
    .map((r) => {
      const role = r.allocation_info?.role ? `(allocated: ${r.allocation_info.role})` : '';
      switch (r.type) {
        case 'SCALAR': return `${r.name}${role}:${r.scalar?.value ?? 0}`;
        case 'RANGES': return `${r.name}${role}:[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ')}]`;
        case 'SET': return `${r.name}${role}:{${(r.set?.item ?? []).join(', ')}}`;
        case 'TEXT': return `${r.name}${role}`;
      }
    })
    .join('; ');
}

/** Characters an ID must not hold (a literal in the function would build a RegExp per task). */
// eslint-disable-next-line no-control-regex
const INVALID_ID_CHARACTERS = /[\u0000-\u001f\u007f/\\]/;

/** Mesos `common::validation::validateID`. */
export function validateId(kind: string, value: string): string | undefined {
  if (value.length === 0) return `${kind} must not be empty`;
  if (value === '.' || value === '..') return `${kind} '${value}' is invalid: '.' and '..' are disallowed`;
  if (INVALID_ID_CHARACTERS.test(value)) return `${kind} '${value}' contains invalid characters`;
  return undefined;
}

function invalidResources(rs: readonly Resource[]): string | undefined {
  for (const r of rs) {
    if (r.type === 'SCALAR' && (r.scalar === undefined || !(r.scalar.value >= 0))) return `Invalid scalar resource ${r.name}`;
    if (r.type === 'RANGES') {
      for (const range of r.ranges?.range ?? []) if (range.begin > range.end) return `Invalid range ${range.begin}-${range.end} in resource ${r.name}`;
    }
  }
  return undefined;
}

/** Mesos `offer::validate`: offers exist, are this framework's, unique, on one agent, one role. */
export function validateOffers(input: Pick<AcceptInput, 'frameworkId' | 'offerIds' | 'offers'>): string | undefined {
  if (input.offerIds.length === 0) return 'No offers specified';
  const seen = new Set<string>();
  let first: OfferRecord | undefined;
  for (const id of input.offerIds) {
    if (seen.has(id)) return `Duplicate offer ${id} in the same call`;
    seen.add(id);
    const offer = input.offers.get(id);
    if (offer === undefined) return `Offer ${id} is no longer valid`;
    if (offer.frameworkId !== input.frameworkId) {
      return `Offer ${id} has invalid framework ${offer.frameworkId} while framework ${input.frameworkId} is expected`;
    }
    if (first === undefined) first = offer;
    else if (offer.agentId !== first.agentId) {
      return `Aggregated offers must belong to one single agent. Offer ${id} uses agent ${offer.agentId} and offer ${first.id} uses agent ${first.agentId}`;
    }
    else if (offer.role !== first.role) return 'Aggregated offers must be allocated to the same role';
  }
  return undefined;
}

function executorsEqual(a: ExecutorInfo, b: ExecutorInfo): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface TaskCheckContext {
  frameworkId: string;
  agentId: string;
  taskIdInUse(taskId: string): boolean;
  launchedIds: Set<string>;
  executors: Map<string, ExecutorInfo>;
}

/** Checks common to single tasks and tasks of a group (id, uniqueness, agent, resources). */
function checkTaskBasics(task: TaskInfo, ctx: TaskCheckContext): string | undefined {
  const idError = validateId('TaskID', task.task_id.value);
  if (idError) return idError;
  if (ctx.taskIdInUse(task.task_id.value) || ctx.launchedIds.has(task.task_id.value)) {
    return `Task has duplicate ID: ${task.task_id.value}`;
  }
  if (task.agent_id.value !== ctx.agentId) return `Task uses invalid agent: ${task.agent_id.value}`;
  const resourcesError = invalidResources(task.resources ?? []);
  if (resourcesError) return `Task uses invalid resources: ${resourcesError}`;
  return undefined;
}

function checkExecutor(executor: ExecutorInfo, ctx: TaskCheckContext): { error?: string; isNew: boolean } {
  const idError = validateId('ExecutorID', executor.executor_id.value);
  if (idError) return { error: idError, isNew: false };
  if (executor.framework_id !== undefined && executor.framework_id.value !== ctx.frameworkId) {
    return {
      error: `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.framework_id.value} vs Expected: ${ctx.frameworkId})`,
      isNew: false,
    };
  }
  const resourcesError = invalidResources(executor.resources ?? []);
  if (resourcesError) return { error: `Executor uses invalid resources: ${resourcesError}`, isNew: false };
  const existing = ctx.executors.get(executor.executor_id.value);
  if (existing === undefined) return { isNew: true };
  const normalised = { ...executor, framework_id: { value: ctx.frameworkId } };
  const existingNormalised = { ...existing, framework_id: { value: ctx.frameworkId } };
  if (!executorsEqual(normalised, existingNormalised)) {
    return { error: `ExecutorInfo is not compatible with existing ExecutorInfo`, isNew: false };
  }
  return { isNew: false };
}

/**
 * What remains of the offered resources while the tasks of an ACCEPT are checked in order,
 * with the answers of `containsResources(remaining, consumed)` and
 * `remaining = subtractResources(remaining, consumed)` done task by task, but cheaper: a
 * consumption made of scalars only is added to `spent` (a list as short as a task's), and
 * `remaining` (the offer's list, with its ranges) is rebuilt only when something reads it or a
 * task consumes ranges or sets. Checking the 20 tasks of an ACCEPT subtracted from the whole
 * offer once per task, a visible share of a busy master.
 *
 * Exact for scalars: values are integer thousandths, every consumption was checked to fit
 * (so no subtraction clamps at 0), hence `base − spent ⊇ c ⇔ base ⊇ spent + c` per identity,
 * and `base − spent` equals the subtractions one by one. Ranges and sets are not (two tasks
 * asking the same port fit their union but not one after the other), so they take the exact path.
 * A unit test (launch-validation-remaining.test.ts) holds it to the one-by-one answers.
 */
export class RemainingResources {
  private base: Resource[];
  /** Scalar consumption taken since `base` was last rebuilt. */
  private spent: Resource[] = [];
  /** `spent + consumed` of the last {@link contains} answered yes, for {@link take}. */
  private checked: { consumed: readonly Resource[]; sum: Resource[] } | undefined;

  constructor(initial: Resource[]) {
    this.base = initial;
  }

  /** What remains now (a new list; shared, do not mutate). */
  get current(): Resource[] {
    if (this.spent.length > 0) {
      this.base = subtractResources(this.base, this.spent);
      this.spent = [];
    }
    return this.base;
  }

  /** `containsResources(current, consumed)`. */
  contains(consumed: readonly Resource[]): boolean {
    this.checked = undefined;
    if (!onlyScalars(consumed)) return containsResources(this.current, consumed);
    const sum = this.spent.length === 0 ? [...consumed] : addResources(this.spent, consumed);
    if (!containsResources(this.base, sum)) return false;
    this.checked = { consumed, sum };
    return true;
  }

  /** `current = subtractResources(current, consumed)`, for a consumption that {@link contains} accepted. */
  take(consumed: readonly Resource[]): void {
    const checked = this.checked;
    this.checked = undefined;
    if (checked !== undefined && checked.consumed === consumed) this.spent = checked.sum;
    else this.base = subtractResources(this.current, consumed);
  }
}

function onlyScalars(rs: readonly Resource[]): boolean {
  for (const r of rs) if (r.type !== 'SCALAR') return false;
  return true;
}

/**
 * Plans an ACCEPT: validates the offers, then each LAUNCH task and LAUNCH_GROUP in order
 * against what remains of the offered resources. Pure: reads the input only.
 */
export function planAccept(input: AcceptInput): AcceptPlan {
  const allTasks: TaskInfo[] = [];
  const unsupported: string[] = [];
  for (const op of input.operations) {
    if (op.type === 'LAUNCH') allTasks.push(...(op.launch?.task_infos ?? []));
    else if (op.type === 'LAUNCH_GROUP') allTasks.push(...(op.launch_group?.task_group.tasks ?? []));
    else unsupported.push(op.type);
  }
  const ownOfferIds = [...new Set(input.offerIds)].filter((id) => input.offers.get(id)?.frameworkId === input.frameworkId);
  const plan: AcceptPlan = { ownOfferIds, launches: [], rejections: [], allTasks, leftover: [], unsupported };

  const offerError = validateOffers(input);
  if (offerError !== undefined) {
    plan.offerError = offerError;
    for (const id of ownOfferIds) plan.leftover = addResources(plan.leftover, input.offers.get(id)!.unallocated);
    return plan;
  }
  const offers = ownOfferIds.map((id) => input.offers.get(id)!);
  const agentId = offers[0]!.agentId;
  plan.agentId = agentId;
  plan.role = offers[0]!.role;
  let offered: Resource[] = [];
  for (const o of offers) offered = addResources(offered, o.unallocated);
  const available = new RemainingResources(offered);

  const ctx: TaskCheckContext = {
    frameworkId: input.frameworkId,
    agentId,
    taskIdInUse: input.taskIdInUse,
    launchedIds: new Set(),
    executors: new Map(input.executorsOnAgent(agentId)),
  };

  for (const op of input.operations) {
    if (op.type === 'LAUNCH') {
      for (const task of op.launch?.task_infos ?? []) {
        const error = checkTask(task, ctx, available);
        if (typeof error === 'string') {
          plan.rejections.push({ task, reason: 'REASON_TASK_INVALID', message: error });
          continue;
        }
        available.take(error.consumed);
        ctx.launchedIds.add(task.task_id.value);
        if (error.newExecutor) ctx.executors.set(error.newExecutor.executor_id.value, error.newExecutor);
        const launch: TaskLaunch = { kind: 'task', task };
        if (error.newExecutor) launch.newExecutor = error.newExecutor;
        plan.launches.push(launch);
      }
    } else if (op.type === 'LAUNCH_GROUP' && op.launch_group !== undefined) {
      const { executor } = op.launch_group;
      const tasks = op.launch_group.task_group.tasks ?? [];
      const verdict = checkGroup(executor, tasks, ctx, available);
      if (typeof verdict === 'string') {
        for (const task of tasks) plan.rejections.push({ task, reason: 'REASON_TASK_GROUP_INVALID', message: verdict });
        continue;
      }
      available.take(verdict.consumed);
      for (const t of tasks) ctx.launchedIds.add(t.task_id.value);
      if (verdict.isNew) ctx.executors.set(executor.executor_id.value, executor);
      plan.launches.push({ kind: 'group', executor, newExecutor: verdict.isNew, tasks });
    }
  }
  plan.leftover = available.current;
  return plan;
}

function checkTask(
  task: TaskInfo,
  ctx: TaskCheckContext,
  available: RemainingResources,
): string | { consumed: Resource[]; newExecutor?: ExecutorInfo } {
  const basic = checkTaskBasics(task, ctx);
  if (basic) return basic;
  if ((task.command === undefined) === (task.executor === undefined)) {
    return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
  }
  let consumed = unallocateResources(task.resources ?? []);
  let newExecutor: ExecutorInfo | undefined;
  if (task.executor !== undefined) {
    const ex = checkExecutor(task.executor, ctx);
    if (ex.error) return ex.error;
    if (ex.isNew) {
      newExecutor = task.executor;
      consumed = addResources(consumed, unallocateResources(task.executor.resources ?? []));
    }
  }
  if (isEmptyResources(consumed)) return 'Task uses no resources';
  if (!available.contains(consumed)) {
    return `Task uses more resources ${describeResources(consumed)} than available ${describeResources(available.current)}`;
  }
  const fits: { consumed: Resource[]; newExecutor?: ExecutorInfo } = { consumed };
  if (newExecutor) fits.newExecutor = newExecutor;
  return fits;
}

function checkGroup(
  executor: ExecutorInfo,
  tasks: TaskInfo[],
  ctx: TaskCheckContext,
  available: RemainingResources,
): string | { consumed: Resource[]; isNew: boolean } {
  if (tasks.length === 0) return 'Task group must not be empty';
  if (executor.type !== undefined && executor.type !== 'DEFAULT') return "'ExecutorInfo.type' must be 'DEFAULT'";
  const ex = checkExecutor(executor, ctx);
  if (ex.error) return ex.error;
  let consumed: Resource[] = ex.isNew ? unallocateResources(executor.resources ?? []) : [];
  const ids = new Set<string>();
  for (const task of tasks) {
    const basic = checkTaskBasics(task, ctx);
    if (basic) return basic;
    if (ids.has(task.task_id.value)) return `Task has duplicate ID: ${task.task_id.value}`;
    ids.add(task.task_id.value);
    if (task.executor !== undefined) return `'TaskInfo.executor' must not be set for task ${task.task_id.value} of a task group`;
    consumed = addResources(consumed, unallocateResources(task.resources ?? []));
  }
  if (isEmptyResources(consumed)) return 'Task group uses no resources';
  if (!available.contains(consumed)) {
    return `Task group uses more resources ${describeResources(consumed)} than available ${describeResources(available.current)}`;
  }
  return { consumed, isNew: ex.isNew };
}
