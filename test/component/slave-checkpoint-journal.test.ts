/**
 * The checkpoint as a snapshot and a journal on disk (slave/checkpoint-writer.ts): every write
 * reads back as the state written, the journal is compacted into a new snapshot once it has
 * grown, a head change or a failed write starts a new snapshot, and a writer SIGKILLed at any
 * moment leaves a state it had written. The crash test spawns the compiled modules (build
 * first: `npx tsc -p .`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { AtomicFileWriter } from '../../slave/atomic-writer.js';
import type { Checkpoint } from '../../slave/checkpoint.js';
import { checkpointPath, journalPath, readCheckpoint } from '../../slave/checkpoint-store.js';
import { CheckpointWriter, type CheckpointWriteKind } from '../../slave/checkpoint-writer.js';
import { packageRoot } from '../../slave/paths.js';
import { CheckpointSequence, normalizedCheckpoint } from '../helpers/checkpoint-sequence.js';
import { EventLog } from '../helpers/wait.js';

const tmp = (t: { teardown(fn: () => void): void }): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-journal-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};


const read = (dir: string): Checkpoint => {
  const r = readCheckpoint(dir);
  if (!r.found || !r.ok) throw new Error(`checkpoint not readable: ${JSON.stringify(r)}`);
  return r.checkpoint;
};

t.test('every write reads back; the journal grows by lines and is compacted into a new snapshot', async (t) => {
  const dir = tmp(t);
  const files = new AtomicFileWriter();
  t.teardown(() => files.close());
  let ids = 0;
  const writer = new CheckpointWriter(dir, files, { newJournalId: () => `j-${++ids}`, minJournalBytes: 8 * 1024 });
  const sequence = new CheckpointSequence(21);
  const kinds = new Map<CheckpointWriteKind, number>();
  let last: Checkpoint | undefined;
  for (let i = 0; i < 300; i++) {
    const c = sequence.next();
    const kind = await writer.write(c);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    if (kind !== 'unchanged') last = c;
    const back = read(dir);
    t.same(normalizedCheckpoint({ ...back, written_at: 0 }), normalizedCheckpoint({ ...c, written_at: 0 }), `write ${i} (${kind}) reads back`);
    t.equal(back.written_at, last!.written_at);
    if (kind === 'snapshot') {
      t.equal(fs.readFileSync(journalPath(dir), 'utf8'), `{"journal":"j-${ids}"}\n`, 'a snapshot starts an empty journal of its own');
      t.equal(JSON.parse(fs.readFileSync(checkpointPath(dir), 'utf8')).journal, `j-${ids}`, 'which the snapshot names');
    }
  }
  t.ok((kinds.get('journal') ?? 0) > 200, `most writes are journal lines (${kinds.get('journal')})`);
  t.ok((kinds.get('snapshot') ?? 0) > 2, `the journal was compacted (${kinds.get('snapshot')} snapshots)`);
  t.ok(fs.statSync(journalPath(dir)).size < 64 * 1024, 'the journal stays bounded');
  t.same(fs.readdirSync(path.dirname(checkpointPath(dir))).sort(), ['checkpoint.journal', 'checkpoint.json'], 'no temp file left behind');
});

t.test('a new agent id is a new snapshot; a failed append is followed by one', async (t) => {
  const dir = tmp(t);
  const files = new AtomicFileWriter();
  t.teardown(() => files.close());
  // The disk fills up in the middle of an append: half the line lands, the append fails.
  let diskFull = false;
  const writer = new CheckpointWriter(dir, {
    write: (file, data) => files.write(file, data),
    append: async (file, data) => {
      if (!diskFull) return files.append(file, data);
      await files.append(file, data.slice(0, data.length >> 1));
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    },
  });
  const sequence = new CheckpointSequence(4);
  const c1 = sequence.next();
  t.equal(await writer.write(c1), 'snapshot', 'the first write is a snapshot');
  t.equal(await writer.write({ ...c1, written_at: c1.written_at + 1 }), 'unchanged', 'nothing changed: nothing written');
  t.equal(await writer.write({ ...c1, agent_id: 'another-S1' }), 'snapshot', 'a head change');
  t.equal(read(dir).agent_id, 'another-S1');
  const extra = (c: Checkpoint, id: string): Checkpoint => ({ ...c, agent_id: 'another-S1', frameworks: [...c.frameworks, { info: { id: { value: id }, user: 'u', name: id }, terminating: false, executors: [] }] });
  const c2 = extra(c1, 'fw-two');
  t.equal(await writer.write(c2), 'journal');
  t.same(normalizedCheckpoint(read(dir)), normalizedCheckpoint(c2));
  diskFull = true;
  const c3 = extra(c2, 'fw-three');
  await t.rejects(writer.write(c3), { code: 'ENOSPC' });
  t.same(normalizedCheckpoint(read(dir)), normalizedCheckpoint(c2), 'the torn line is ignored: the last state written');
  diskFull = false;
  t.equal(await writer.write(c3), 'snapshot', 'the next write is a snapshot (a line after a torn one would be lost)');
  t.same(normalizedCheckpoint(read(dir)), normalizedCheckpoint(c3));
  const c4 = extra(c3, 'fw-four');
  t.equal(await writer.write(c4), 'journal', 'and journaling goes on');
  t.same(normalizedCheckpoint(read(dir)), normalizedCheckpoint(c4));
});

t.test('a journal removed under a running writer is noticed: that write fails, the next is a snapshot', async (t) => {
  const dir = tmp(t);
  const files = new AtomicFileWriter();
  t.teardown(() => files.close());
  const writer = new CheckpointWriter(dir, files);
  const sequence = new CheckpointSequence(8);
  const first = sequence.next();
  t.equal(await writer.write(first), 'snapshot');
  const extra = (c: Checkpoint, id: string): Checkpoint => ({ ...c, frameworks: [...c.frameworks, { info: { id: { value: id }, user: 'u', name: id }, terminating: false, executors: [] }] });
  const second = extra(first, 'fw-second');
  t.equal(await writer.write(second), 'journal', 'the writer thread now holds the journal open');
  // An operator clears the meta directory while the slave runs.
  fs.rmSync(path.dirname(checkpointPath(dir)), { recursive: true });
  const third = extra(second, 'fw-third');
  await t.rejects(writer.write(third), { code: 'ENOENT' }, 'not appended to a file nobody will read');
  t.equal(await writer.write(third), 'snapshot', 'the next write starts over');
  t.same(normalizedCheckpoint(read(dir)), normalizedCheckpoint(third), 'and the files hold the state again');
});

t.test('a writer SIGKILLed while journaling leaves a state it had written', async (t) => {
  const dist = path.join(packageRoot(), 'dist');
  // Killed at different moments: after 40, 90 and 140 writes of three sequences.
  for (const [seed, killAfter] of [[99, 40], [7, 90], [123, 140]] as const) {
    const dir = tmp(t);
    const script = `
      const { AtomicFileWriter } = await import(${JSON.stringify(path.join(dist, 'slave', 'atomic-writer.js'))});
      const { CheckpointWriter } = await import(${JSON.stringify(path.join(dist, 'slave', 'checkpoint-writer.js'))});
      const { CheckpointSequence } = await import(${JSON.stringify(path.join(dist, 'test', 'helpers', 'checkpoint-sequence.js'))});
      const writer = new CheckpointWriter(${JSON.stringify(dir)}, new AtomicFileWriter(), { minJournalBytes: 4096 });
      const sequence = new CheckpointSequence(${seed});
      for (let i = 0; i < 5000; i++) console.log('wrote', await writer.write(sequence.next()), i);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => { child.kill('SIGKILL'); });
    const lines = new EventLog<string>();
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    const seen = await lines.waitFor((l) => l.endsWith(` ${killAfter}`), 60_000, `${killAfter} writes`);
    child.kill('SIGKILL');
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const snapshots = lines.events.filter((l) => l.startsWith('wrote snapshot')).length;
    const got = read(dir);
    // The step it holds: the one whose written_at it carries (a step that changed nothing wrote nothing).
    const sequence = new CheckpointSequence(seed);
    let index = 0;
    let step = sequence.next();
    while (step.written_at < got.written_at && index < 5000) {
      step = sequence.next();
      index++;
    }
    t.equal(step.written_at, got.written_at, `seed ${seed}: the state of step ${index} (${snapshots} snapshots seen)…`);
    t.ok(index >= Number(seen.split(' ')[2]), `…at or after the last one reported written (${killAfter})`);
    t.same(normalizedCheckpoint(got), normalizedCheckpoint(step), 'exactly that step\'s state');
  }
});
