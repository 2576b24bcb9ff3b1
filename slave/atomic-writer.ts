/**
 * Atomic file writes (temp file, fsync, rename, fsync of the directory) and durable appends
 * (write, fdatasync; the checkpoint's journal) on a worker thread.
 *
 * Why: the same steps on `fs.promises` are eight round trips through libuv's thread pool,
 * each a wake-up of the event loop and a promise. Measured on the 2-core bench machine, a
 * checkpoint write so cost the slave ~0.7 ms of CPU and, under load, 14 ms p50 (32 ms p90)
 * of wall time, because every hop waited for a turn of a busy loop, while the very same
 * syscalls done in one go take ~0.5 ms and ~0.2 ms of CPU. Every status update waits for a
 * write before it is forwarded, so these milliseconds were on the path of every task, two
 * or three times. The worker does the steps synchronously (`fsync` may take milliseconds on
 * a real disk, which must not block the slave's loop): one message there, one back.
 *
 * If the worker cannot start or dies, this write and every later one fall back to
 * {@link writeFileAtomicAsync} (same steps on `fs.promises`).
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { APPEND_FLAGS, appendDurablyAsync, appendDurablySteps, writeAtomicSteps, writeFileAtomicAsync } from './checkpoint-store.js';

/**
 * The worker's program (CommonJS, run with `eval`, so it needs no file of its own and runs
 * the same from dist/ and from sources under a loader): checkpoint-store.ts
 * `writeAtomicSteps` or `appendDurablySteps`, from their source text, for each message. Its
 * temp files are numbered from 1,000,000 so that they never share a name with the main
 * thread's. A file appended to stays open until it is replaced (its old inode then is
 * gone) or an append to it fails.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const writeAtomicSteps = ${writeAtomicSteps.toString()};
const appendDurablySteps = ${appendDurablySteps.toString()};
const appendFds = new Map();
const closeAppend = (file) => {
  const fd = appendFds.get(file);
  if (fd === undefined) return;
  appendFds.delete(file);
  try { fs.closeSync(fd); } catch {}
};
let seq = 0;
parentPort.on('message', (m) => {
  try {
    if (m.op === 'append') {
      let fd = appendFds.get(m.file);
      if (fd === undefined) {
        fd = fs.openSync(m.file, ${APPEND_FLAGS});
        appendFds.set(m.file, fd);
      }
      try {
        appendDurablySteps(fs, fd, m.data);
      } catch (e) {
        closeAppend(m.file);
        throw e;
      }
    } else {
      closeAppend(m.file);
      writeAtomicSteps(fs, path, m.file, m.data, process.pid + '-' + (1000000 + seq++));
    }
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, message: String(e && e.message), code: e && e.code });
  }
});
`;

interface WriterReply {
  id: number;
  message?: string;
  code?: string;
}

/** What the worker does with a file: replace it atomically, or append to it durably. */
type WriteOp = 'replace' | 'append';

interface PendingWrite {
  resolve(): void;
  reject(e: Error): void;
  op: WriteOp;
  file: string;
  data: string;
}

/** The same operation on `fs.promises` (the fallback). */
const fallback = (op: WriteOp, file: string, data: string): Promise<void> =>
  op === 'append' ? appendDurablyAsync(file, data) : writeFileAtomicAsync(file, data);

/** Atomic writes on one lazily started worker thread (see the module comment). */
export class AtomicFileWriter {
  private worker: Worker | undefined;
  /** The worker could not start or died: writes go through `fs.promises`. */
  private broken = false;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, PendingWrite>();

  /** Writes `data` to `file` atomically; rejects with the I/O error (its `code` kept). */
  write(file: string, data: string): Promise<void> {
    return this.submit('replace', file, data);
  }

  /**
   * Appends `data` to `file`, which must exist, and fdatasyncs it; rejects with the I/O error
   * (its `code` kept). After a failed append the file may end with part of `data`.
   */
  append(file: string, data: string): Promise<void> {
    return this.submit('append', file, data);
  }

  private submit(op: WriteOp, file: string, data: string): Promise<void> {
    if (this.broken || this.closed) return fallback(op, file, data);
    let worker: Worker;
    try {
      worker = this.worker ?? this.start();
    } catch {
      this.broken = true;
      return fallback(op, file, data);
    }
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op, file, data });
      // Held open only while a write is in flight.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, op, file, data });
    });
  }

  /** Stops the worker (after {@link write}s in flight have settled, if the caller awaited them). */
  close(): void {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) void worker.terminate();
    // Anything still in flight is done by the fallback (the worker may not have finished it).
    this.failOver();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, stdout: false, stderr: false });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.message === undefined) p.resolve();
      else p.reject(Object.assign(new Error(reply.message), reply.code !== undefined ? { code: reply.code } : {}));
    });
    const gone = (): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.broken = true;
      this.failOver();
    };
    worker.on('error', gone);
    worker.on('exit', gone);
    this.worker = worker;
    return worker;
  }

  /**
   * Writes in flight on a worker that is gone are done again through `fs.promises`. An
   * atomic write can be repeated; an append cannot (the worker may have done it), so it
   * fails, and the journal's writer starts a new snapshot.
   */
  private failOver(): void {
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const p of left) {
      if (p.op === 'append') p.reject(Object.assign(new Error(`the writer thread stopped during an append to ${p.file}`), { code: 'AGORA_WRITER_STOPPED' }));
      else writeFileAtomicAsync(p.file, p.data).then(p.resolve, p.reject);
    }
  }
}
