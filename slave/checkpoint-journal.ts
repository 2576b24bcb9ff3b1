/**
 * The checkpoint's journal (issue 6, round 12): what changed since the snapshot, so that a
 * group commit appends its changes instead of rewriting every live task. Pure: the records,
 * the journal's lines and their replay. Writing them is checkpoint-writer.ts.
 *
 * Why: the whole checkpoint was rewritten on every group commit (270 KB with 200 running
 * tasks, fsynced, through a temp file and a rename), a cost growing with the tasks a slave
 * runs, paid several times per task. Mesos keeps a file per task and an append-only log per
 * status update stream for the same reason.
 *
 * A checkpoint is seen as a set of *records*, each a key (the JSON text of an array) and a
 * value (JSON text):
 *
 * | key | value |
 * |---|---|
 * | `["f", framework id]` | `{info, terminating}` |
 * | `["e", framework id, container id]` | the executor without its tasks |
 * | `["i", container id, task id]` | the TaskInfo (written once per task) |
 * | `["t", container id, task id]` | `{state, phase}` |
 * | `["s", framework id, task id]` | the status update stream |
 *
 * `checkpoint.journal` starts with `{"journal":"<id>"}`, the id the snapshot names in its
 * `journal` field (a journal left by another snapshot is ignored), then one line per write:
 * `{"at":<written_at>,"set":[[key,value],…],"del":[key,…]}`. Every line is fsynced before the
 * sends that depend on it leave, so only the last one can be torn by a crash: a last line
 * without its newline is ignored. The head (format, version, boot id, agent id, port,
 * endpoint) is only in the snapshot; a change to it is written as a new snapshot.
 *
 * @module
 */
import { cachedJson, encodeObject, encodeStream, validateCheckpoint, type Checkpoint, type CheckpointedExecutor, type CheckpointedStream, type DecodedCheckpoint } from './checkpoint.js';

/** A checkpoint's records, and what encoding the next checkpoint's may reuse. */
export interface CheckpointRecords {
  /** Key (JSON text of an array) → value (JSON text), in document order. */
  readonly values: Map<string, string>;
  /** The `s` records by framework id and task id: their key, and the stream their JSON was encoded from. */
  readonly streams: Map<string, Map<string, { key: string; stream: CheckpointedStream; json: string }>>;
}

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Whether `a` and `b` encode the same: the same update objects (the slave never changes an
 * update it holds), the same seen uuids, the same end.
 */
const sameStream = (a: CheckpointedStream, b: CheckpointedStream): boolean =>
  a.terminated === b.terminated && a.framework_id === b.framework_id && a.task_id === b.task_id && sameItems(a.pending, b.pending) && sameItems(a.seen_uuids, b.seen_uuids);

/** `{"state":…,"phase":…}` texts by state and phase, one string per pair: an unchanged task's record is the very same string. */
const taskStateJson = new Map<string, Map<string, string>>();

function stateJson(state: string, phase: string): string {
  let byPhase = taskStateJson.get(state);
  if (byPhase === undefined) taskStateJson.set(state, (byPhase = new Map()));
  let json = byPhase.get(phase);
  if (json === undefined) {
    json = JSON.stringify({ state, phase });
    byPhase.set(phase, json);
  }
  return json;
}

/** Keys of a task's two records, by TaskInfo (the same object for as long as the slave holds the task). */
const taskKeys = new WeakMap<object, { containerId: string; info: string; state: string }>();

function keysOfTask(info: object, containerId: string, taskId: string): { info: string; state: string } {
  let keys = taskKeys.get(info);
  if (keys === undefined || keys.containerId !== containerId) {
    keys = { containerId, info: JSON.stringify(['i', containerId, taskId]), state: JSON.stringify(['t', containerId, taskId]) };
    taskKeys.set(info, keys);
  }
  return keys;
}

/**
 * The records of `c` (see the module comment), each value encoded as `encodeCheckpoint`
 * would. The unchanged parts' JSON is reused: TaskInfos' and updates' by identity, and from
 * `previous` (the records of the last checkpoint written) the streams that did not change.
 * Undefined when two records would share a key (a framework without an id, a container id
 * twice): such a checkpoint is written whole.
 */
export function checkpointRecords(c: Checkpoint, previous?: CheckpointRecords): CheckpointRecords | undefined {
  const values = new Map<string, string>();
  // False when the key was there already (one hash lookup, not two: this runs per record per write).
  const put = (key: string, value: string): boolean => {
    const size = values.size;
    return values.set(key, value).size > size;
  };
  for (const f of c.frameworks) {
    const frameworkId = f.info.id?.value;
    if (frameworkId === undefined) return undefined;
    if (!put(JSON.stringify(['f', frameworkId]), `{"info":${cachedJson(f.info)},"terminating":${f.terminating}}`)) return undefined;
    for (const e of f.executors) {
      const { tasks, ...executor } = e;
      if (!put(JSON.stringify(['e', frameworkId, e.container_id]), encodeObject(executor, { info: cachedJson }))) return undefined;
      for (const t of tasks) {
        const keys = keysOfTask(t.info, e.container_id, t.info.task_id.value);
        if (!put(keys.info, cachedJson(t.info))) return undefined;
        if (!put(keys.state, stateJson(t.state, t.phase))) return undefined;
      }
    }
  }
  const streams: CheckpointRecords['streams'] = new Map();
  for (const s of c.status_updates) {
    const last = previous?.streams.get(s.framework_id)?.get(s.task_id);
    const key = last?.key ?? JSON.stringify(['s', s.framework_id, s.task_id]);
    const json = last !== undefined && sameStream(last.stream, s) ? last.json : encodeStream(s);
    if (!put(key, json)) return undefined;
    let ofFramework = streams.get(s.framework_id);
    if (ofFramework === undefined) streams.set(s.framework_id, (ofFramework = new Map()));
    ofFramework.set(s.task_id, { key, stream: s, json });
  }
  return { values, streams };
}

/** The head of a checkpoint (what only a snapshot holds), as comparable text. */
export function checkpointHead(c: Checkpoint): string {
  return JSON.stringify([c.format, c.version, c.boot_id, c.agent_id ?? null, c.port, c.endpoint]);
}

/** The journal's first line: the id its snapshot names. */
export function journalHeader(id: string): string {
  return `${JSON.stringify({ journal: id })}\n`;
}

/**
 * The journal line that turns `before` into `after` (written at `at`), with its newline;
 * undefined when no record changed.
 */
export function journalEntry(before: CheckpointRecords, after: CheckpointRecords, at: number): string | undefined {
  let set = '';
  for (const [key, value] of after.values) {
    // Unchanged records are mostly the very same string: a pointer comparison.
    if (before.values.get(key) !== value) set += `${set.length > 0 ? ',' : ''}[${key},${value}]`;
  }
  let del = '';
  for (const key of before.values.keys()) {
    if (!after.values.has(key)) del += `${del.length > 0 ? ',' : ''}${key}`;
  }
  if (set.length === 0 && del.length === 0) return undefined;
  return `{"at":${at},"set":[${set}],"del":[${del}]}\n`;
}

/** A parsed journal line. */
interface JournalLine {
  at: number;
  set: [string, unknown][];
  del: string[];
}

function parseLine(text: string): JournalLine | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (typeof json !== 'object' || json === null) return 'not a JSON object';
  const { at, set, del } = json as Record<string, unknown>;
  if (typeof at !== 'number') return '"at" is not a number';
  if (!Array.isArray(set) || !set.every((s) => Array.isArray(s) && s.length === 2 && Array.isArray(s[0]))) return '"set" is not a list of [key, value]';
  if (!Array.isArray(del) || !del.every((k) => Array.isArray(k))) return '"del" is not a list of keys';
  return {
    at,
    set: set.map((s: [unknown, unknown]) => [JSON.stringify(s[0]), s[1]]),
    del: del.map((k) => JSON.stringify(k)),
  };
}

/**
 * The checkpoint that `snapshot` and its journal's text hold together; never throws. A
 * snapshot without a journal id, or a journal that names another id (or none), is the
 * snapshot alone. A torn last line is ignored; any other bad line, or a record whose parent
 * is missing, makes the whole checkpoint unusable (the reason says which line).
 */
export function replayJournal(snapshot: Checkpoint, journalText: string): DecodedCheckpoint {
  if (snapshot.journal === undefined) return { ok: true, checkpoint: snapshot };
  // Complete lines only: the text after the last newline is a torn append (or nothing).
  const lines = journalText.split('\n').slice(0, -1);
  if (lines[0] !== journalHeader(snapshot.journal).slice(0, -1)) return { ok: true, checkpoint: snapshot };
  if (lines.length === 1) return { ok: true, checkpoint: snapshot };
  const base = checkpointRecords(snapshot);
  if (base === undefined) return { ok: false, reason: 'a snapshot with a journal holds two records with the same key' };
  const records = new Map<string, unknown>();
  for (const [key, value] of base.values) records.set(key, JSON.parse(value));
  let writtenAt = snapshot.written_at;
  for (let n = 1; n < lines.length; n++) {
    const line = parseLine(lines[n]!);
    if (typeof line === 'string') return { ok: false, reason: `journal line ${n + 1}: ${line}` };
    for (const [key, value] of line.set) records.set(key, value);
    for (const key of line.del) records.delete(key);
    writtenAt = line.at;
  }
  const rebuilt = fromRecords(snapshot, records);
  if (typeof rebuilt === 'string') return { ok: false, reason: `journal: ${rebuilt}` };
  return validateCheckpoint({ ...rebuilt, written_at: writtenAt });
}

/**
 * The document of `records` under the head of `snapshot`, unvalidated; a string says which
 * record has no parent. Frameworks, then executors, then tasks, then streams, each kind in
 * record order.
 */
function fromRecords(snapshot: Checkpoint, records: Map<string, unknown>): object | string {
  const byKind = new Map<string, [string[], unknown][]>();
  for (const [key, value] of records) {
    const parts = JSON.parse(key) as unknown[];
    if (!parts.every((p) => typeof p === 'string') || parts.length !== 2 + Number(parts[0] !== 'f')) return `bad key ${key}`;
    const [kind, ...ids] = parts as string[];
    const list = byKind.get(kind!) ?? [];
    list.push([ids, value]);
    byKind.set(kind!, list);
  }
  const frameworks = new Map<string, { executors: Record<string, unknown>[] }>();
  const executors = new Map<string, Record<string, unknown> & { tasks: unknown[] }>();
  const infos = new Map<string, unknown>();
  for (const [[frameworkId], value] of byKind.get('f') ?? []) frameworks.set(frameworkId!, { ...(value as object), executors: [] });
  for (const [[frameworkId, containerId], value] of byKind.get('e') ?? []) {
    const framework = frameworks.get(frameworkId!);
    if (framework === undefined) return `executor ${containerId} of an unknown framework ${frameworkId}`;
    const executor = { ...(value as Partial<CheckpointedExecutor>), tasks: [] };
    framework.executors.push(executor);
    executors.set(containerId!, executor);
  }
  for (const [[containerId, taskId], value] of byKind.get('i') ?? []) infos.set(JSON.stringify([containerId, taskId]), value);
  for (const [[containerId, taskId], value] of byKind.get('t') ?? []) {
    const executor = executors.get(containerId!);
    const infoKey = JSON.stringify([containerId, taskId]);
    const info = infos.get(infoKey);
    if (executor === undefined || info === undefined) return `task ${taskId} without its ${executor === undefined ? `executor ${containerId}` : 'TaskInfo'}`;
    infos.delete(infoKey);
    executor.tasks.push({ info, ...(value as object) });
  }
  if (infos.size > 0) return `a TaskInfo without its task (${[...infos.keys()][0]})`;
  for (const kind of byKind.keys()) {
    if (!['f', 'e', 'i', 't', 's'].includes(kind)) return `unknown record kind ${JSON.stringify(kind)}`;
  }
  const { frameworks: _f, status_updates: _s, ...head } = snapshot;
  return { ...head, frameworks: [...frameworks.values()], status_updates: (byKind.get('s') ?? []).map(([, value]) => value) };
}
