/**
 * The checkpoint's atomic writes and appends on a worker thread (slave/atomic-writer.ts): the
 * file ends up with the content and no temp file stays, writes in a row keep their order, an
 * append goes to the file as it is now (also after it was replaced), an I/O error rejects
 * with its code, and once the worker is gone the writes still happen (fs.promises).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { AtomicFileWriter } from '../../slave/atomic-writer.js';
import { readCheckpoint } from '../../slave/checkpoint-store.js';
import { CheckpointWriter } from '../../slave/checkpoint-writer.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint } from '../../slave/checkpoint.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agora-atomic-writer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('writes land whole, in order, with no temp file left; a missing directory is made', async (t) => {
  const writer = new AtomicFileWriter();
  t.teardown(() => writer.close());
  const dir = path.join(tempDir(t), 'meta');
  const file = path.join(dir, 'doc.json');
  // The fallback opens files through this thread's fs.promises; the worker never does.
  const open = fs.promises.open;
  let opensHere = 0;
  fs.promises.open = ((...args: Parameters<typeof open>) => (opensHere++, open(...args))) as typeof open;
  t.teardown(() => { fs.promises.open = open; });
  await writer.write(file, 'first');
  t.equal(fs.readFileSync(file, 'utf8'), 'first', 'the directory was created and the file written');
  t.equal(opensHere, 0, 'by the worker thread, not the fallback');
  // Not awaited one by one: the worker takes them in order, so the last one wins.
  await Promise.all(Array.from({ length: 20 }, (_, i) => writer.write(file, `v${i} ${'x'.repeat(i * 1000)}`)));
  t.equal(fs.readFileSync(file, 'utf8'), `v19 ${'x'.repeat(19_000)}`, 'the last write is the content');
  t.same(fs.readdirSync(dir), ['doc.json'], 'no temp file stays');
});

t.test('an I/O error rejects with its code and leaves nothing behind', async (t) => {
  const writer = new AtomicFileWriter();
  t.teardown(() => writer.close());
  const dir = tempDir(t);
  const file = path.join(dir, 'doc.json');
  fs.mkdirSync(file);
  await t.rejects(writer.write(file, 'x'), { code: 'EISDIR' }, 'renaming over a directory fails');
  t.same(fs.readdirSync(dir), ['doc.json'], 'the temp file was removed');
  await writer.write(path.join(dir, 'other.json'), 'y');
  t.equal(fs.readFileSync(path.join(dir, 'other.json'), 'utf8'), 'y', 'the writer still works after a failed write');
});

t.test('after close, writes go through fs.promises; a checkpoint round-trips through the writer', async (t) => {
  const writer = new AtomicFileWriter();
  const workDir = tempDir(t);
  const checkpoint: Checkpoint = {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, boot_id: 'b', agent_id: 'a-S0', port: 5051,
    endpoint: '127.0.0.1:5051', written_at: 1, frameworks: [], status_updates: [],
  };
  const checkpoints = new CheckpointWriter(workDir, writer);
  t.equal(await checkpoints.write(checkpoint), 'snapshot');
  const read = readCheckpoint(workDir);
  t.match(read, { found: true, ok: true }, 'the checkpoint written by the worker decodes');
  writer.close();
  t.equal(await checkpoints.write({ ...checkpoint, agent_id: 'a-S1', written_at: 2 }), 'snapshot', 'a new agent id is a new snapshot');
  const again = readCheckpoint(workDir);
  t.ok(again.found && again.ok && again.checkpoint.written_at === 2 && again.checkpoint.agent_id === 'a-S1', 'written without the worker');
});

t.test('appends: to the file as it is, durable, in order; a missing file is an error', async (t) => {
  const writer = new AtomicFileWriter();
  t.teardown(() => writer.close());
  const dir = tempDir(t);
  const file = path.join(dir, 'journal');
  await t.rejects(writer.append(file, 'x\n'), { code: 'ENOENT' }, 'an append never creates the file');
  t.notOk(fs.existsSync(file));
  await writer.write(file, 'head\n');
  await Promise.all(Array.from({ length: 10 }, (_, i) => writer.append(file, `line ${i}\n`)));
  t.equal(fs.readFileSync(file, 'utf8'), `head\n${Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join('')}`, 'every append, in order');
  await writer.write(file, 'new head\n');
  await writer.append(file, 'after\n');
  t.equal(fs.readFileSync(file, 'utf8'), 'new head\nafter\n', 'an append after a replace goes to the new file, not the old inode');
  const big = 'y'.repeat(300_000);
  await writer.append(file, `${big}\n`);
  t.equal(fs.readFileSync(file, 'utf8').length, 'new head\nafter\n'.length + big.length + 1, 'a large append lands whole');
});

t.test('appends after close go through fs.promises; an append the stopped worker had in flight fails', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'journal');
  fs.writeFileSync(file, 'head\n');
  const writer = new AtomicFileWriter();
  const inFlight = writer.append(file, 'maybe\n');
  writer.close();
  await t.rejects(inFlight, { code: 'AGORA_WRITER_STOPPED' }, 'not repeated: the worker may have done it');
  fs.writeFileSync(file, 'head\n');
  await writer.append(file, 'fallback\n');
  t.equal(fs.readFileSync(file, 'utf8'), 'head\nfallback\n');
  await t.rejects(writer.append(path.join(dir, 'missing'), 'x'), { code: 'ENOENT' }, 'the fallback never creates the file either');
});
