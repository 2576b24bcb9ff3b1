/**
 * The checkpoint journal's pure logic (slave/checkpoint-journal.ts): records, the lines that
 * turn one checkpoint into the next, and their replay — every prefix of a long random
 * sequence replays to its checkpoint, a torn last line is ignored, and a journal that is not
 * the snapshot's, or is damaged, never yields a wrong state silently.
 */
import t from 'tap';
import type { Checkpoint } from '../../slave/checkpoint.js';
import { checkpointHead, checkpointRecords, journalEntry, journalHeader, replayJournal } from '../../slave/checkpoint-journal.js';
import { CheckpointSequence, normalizedCheckpoint } from '../helpers/checkpoint-sequence.js';


const replayed = (snapshot: Checkpoint, text: string): Checkpoint => {
  const r = replayJournal(snapshot, text);
  if (!r.ok) throw new Error(r.reason);
  return r.checkpoint;
};

/** A snapshot of `first` naming journal `id`, and the journal lines of `rest` after it. */
function journalOf(first: Checkpoint, rest: Checkpoint[], id = 'j-1'): { snapshot: Checkpoint; lines: string[] } {
  const lines: string[] = [];
  let before = checkpointRecords(first)!;
  for (const c of rest) {
    const after = checkpointRecords(c)!;
    const line = journalEntry(before, after, c.written_at);
    if (line !== undefined) lines.push(line);
    before = after;
  }
  return { snapshot: { ...first, journal: id }, lines };
}

t.test('every prefix of a random sequence replays to its checkpoint', async (t) => {
  let steps = 0;
  for (const seed of [1, 2, 3]) {
    const sequence = new CheckpointSequence(seed);
    const all = Array.from({ length: 150 }, () => sequence.next());
    // Runs under one head: the writer starts a snapshot when the agent id changes.
    for (let start = 0; start < all.length;) {
      let end = start + 1;
      while (end < all.length && checkpointHead(all[end]!) === checkpointHead(all[start]!)) end++;
      const run = all.slice(start, end);
      start = end;
      const snapshot = { ...run[0]!, journal: 'j-1' };
      let text = journalHeader('j-1');
      let at = run[0]!.written_at;
      t.same(normalizedCheckpoint(replayed(snapshot, text)), normalizedCheckpoint(run[0]!), 'the header alone: the snapshot');
      // Each step's records reuse the previous step's encodings, as the writer's do.
      let records = checkpointRecords(run[0]!)!;
      for (let i = 1; i < run.length; i++) {
        const next = checkpointRecords(run[i]!, records)!;
        t.same(next.values, checkpointRecords(run[i]!)!.values, 'reused encodings are the fresh ones');
        const line = journalEntry(records, next, run[i]!.written_at);
        records = next;
        if (line !== undefined) {
          text += line;
          at = run[i]!.written_at;
        }
        const got = replayed(snapshot, text);
        t.same(normalizedCheckpoint(got), normalizedCheckpoint({ ...run[i]!, written_at: at }), `seed ${seed}, step ${run[i]!.written_at}`);
        if (line !== undefined) t.same(normalizedCheckpoint(replayed(snapshot, text.slice(0, -Math.ceil(line.length / 2)))), normalizedCheckpoint({ ...replayed(snapshot, text.slice(0, -line.length)) }), 'a torn last line is ignored');
        steps++;
      }
    }
  }
  t.ok(steps > 300, `${steps} steps replayed`);
});

t.test('a line holds only what changed', async (t) => {
  const sequence = new CheckpointSequence(7);
  let c = sequence.next();
  for (let i = 0; i < 60; i++) c = sequence.next();
  const records = checkpointRecords(c)!;
  t.equal(journalEntry(records, checkpointRecords({ ...c, written_at: 99 })!, 99), undefined, 'nothing changed (written_at is not a record)');
  const executor = c.frameworks.find((f) => f.executors.some((e) => e.tasks.length > 0))!.executors.find((e) => e.tasks.length > 0)!;
  const task = executor.tasks[0]!;
  const changed: Checkpoint = {
    ...c,
    frameworks: c.frameworks.map((f) => ({ ...f, executors: f.executors.map((e) => (e === executor ? { ...e, tasks: e.tasks.map((x) => (x === task ? { ...x, state: 'TASK_KILLED' as const } : x)) } : e)) })),
  };
  const line = journalEntry(records, checkpointRecords(changed)!, 5)!;
  const parsed = JSON.parse(line) as { at: number; set: unknown[]; del: unknown[] };
  t.same(parsed.set, [[['t', executor.container_id, task.info.task_id.value], { state: 'TASK_KILLED', phase: task.phase }]], 'one task\'s state, without its TaskInfo');
  t.same(parsed.del, []);
  t.equal(parsed.at, 5);
  t.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line');
  const removed: Checkpoint = { ...c, frameworks: c.frameworks.map((f) => ({ ...f, executors: f.executors.map((e) => (e === executor ? { ...e, tasks: e.tasks.slice(1) } : e)) })) };
  const del = JSON.parse(journalEntry(records, checkpointRecords(removed)!, 6)!) as { set: unknown[]; del: unknown[] };
  t.same(del, { at: 6, set: [], del: [['i', executor.container_id, task.info.task_id.value], ['t', executor.container_id, task.info.task_id.value]] }, 'a task gone: its two records deleted');
});

t.test('records need unique keys: otherwise the checkpoint is written whole', async (t) => {
  const sequence = new CheckpointSequence(3);
  let c = sequence.next();
  for (let i = 0; i < 30; i++) c = sequence.next();
  const f = c.frameworks[0]!;
  t.equal(checkpointRecords({ ...c, frameworks: [{ ...f, info: { ...f.info, id: undefined } }] }), undefined, 'a framework without an id');
  t.equal(checkpointRecords({ ...c, frameworks: [...c.frameworks, f] }), undefined, 'a framework twice');
  const withExecutor = c.frameworks.find((x) => x.executors.length > 0)!;
  const e = withExecutor.executors[0]!;
  t.equal(checkpointRecords({ ...c, frameworks: [{ ...withExecutor, executors: [e, e] }] }), undefined, 'a container id twice');
});

t.test('a journal that is not the snapshot\'s is ignored', async (t) => {
  const sequence = new CheckpointSequence(11);
  const first = sequence.next();
  const second = sequence.next();
  const { snapshot, lines } = journalOf(first, [second]);
  const line = lines.join('');
  t.same(normalizedCheckpoint(replayed(snapshot, journalHeader('another') + line)), normalizedCheckpoint(first), 'another snapshot\'s journal');
  t.same(normalizedCheckpoint(replayed(snapshot, line)), normalizedCheckpoint(first), 'a journal without a header');
  t.same(normalizedCheckpoint(replayed(snapshot, '')), normalizedCheckpoint(first), 'an empty journal');
  t.same(normalizedCheckpoint(replayed(snapshot, journalHeader('j-1').slice(0, 5))), normalizedCheckpoint(first), 'a torn header');
  const { journal: _journal, ...without } = snapshot;
  t.same(normalizedCheckpoint(replayed(without, journalHeader('j-1') + line)), normalizedCheckpoint(first), 'a snapshot that names no journal');
  t.not(normalizedCheckpoint(replayed(snapshot, journalHeader('j-1') + line)), normalizedCheckpoint(first), 'while the right journal applies');
});

t.test('a damaged journal makes the checkpoint unusable, and says where', async (t) => {
  const sequence = new CheckpointSequence(5);
  const steps = Array.from({ length: 6 }, () => sequence.next());
  const { snapshot, lines } = journalOf(steps[0]!, steps.slice(1));
  const reason = (body: string): string => {
    const r = replayJournal(snapshot, journalHeader('j-1') + body);
    return r.ok ? 'ok' : r.reason;
  };
  t.equal(reason(lines.join('')), 'ok');
  t.match(reason(`${lines[0]}garbage\n${lines.slice(1).join('')}`), /^journal line 3: not JSON/, 'a complete line that is not JSON');
  t.match(reason('[1]\n'), /^journal line 2: "at" is not a number/);
  t.match(reason('{"at":1,"set":{},"del":[]}\n'), /"set" is not a list/);
  t.match(reason('{"at":1,"set":[],"del":["x"]}\n'), /"del" is not a list of keys/);
  t.match(reason('{"at":1,"set":[[["e","no-such-framework","c-9"],{}]],"del":[]}\n'), /^journal: executor c-9 of an unknown framework/);
  t.match(reason('{"at":1,"set":[[["t","c-none","t-9"],{"state":"TASK_RUNNING","phase":"launched"}]],"del":[]}\n'), /^journal: task t-9 without its executor c-none/);
  t.match(reason('{"at":1,"set":[[["x","a","b"],1]],"del":[]}\n'), /unknown record kind "x"/);
  t.match(reason('{"at":1,"set":[[["s",1,"b"],1]],"del":[]}\n'), /bad key/);
  t.match(reason('{"at":1,"set":[[["s","fw","t"],{"nonsense":true}]],"del":[]}\n'), /^invalid checkpoint: status_updates/, 'values are validated like a snapshot');
});
