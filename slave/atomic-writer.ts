/**
 * Atomic file writes (temp file, fsync, rename, fsync of the directory) on a worker thread.
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
import { writeAtomicSteps, writeFileAtomicAsync } from './checkpoint-store.js';

/**
 * The worker's program (CommonJS, run with `eval`, so it needs no file of its own and runs
 * the same from dist/ and from sources under a loader): checkpoint-store.ts
 * `writeAtomicSteps`, from its source text, for each message. Its temp files are numbered
 * from 1,000,000 so that they never share a name with the main thread's.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const writeAtomicSteps = ${writeAtomicSteps.toString()};
let seq = 0;
parentPort.on('message', (m) => {
  try {
    writeAtomicSteps(fs, path, m.file, m.data, process.pid + '-' + (1000000 + seq++));
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

interface PendingWrite {
  resolve(): void;
  reject(e: Error): void;
  file: string;
  data: string;
}

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
    if (this.broken || this.closed) return writeFileAtomicAsync(file, data);
    let worker: Worker;
    try {
      worker = this.worker ?? this.start();
    } catch {
      this.broken = true;
      return writeFileAtomicAsync(file, data);
    }
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, file, data });
      // Held open only while a write is in flight.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, file, data });
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

  /** Writes in flight on a worker that is gone are done again through `fs.promises` (an atomic write can be repeated). */
  private failOver(): void {
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const p of left) writeFileAtomicAsync(p.file, p.data).then(p.resolve, p.reject);
  }
}
