/**
 * Group commit of directory fsyncs. A rename is durable once its directory is fsynced, and
 * one fsync covers every rename made in that directory before the fsync *started*. So
 * concurrent writers share: a caller joins the fsync queued after the one in flight (never
 * the one in flight, which may have started before its rename), and that one fsync answers
 * all of them. Launching 1,000 instances wrote 1,000 instance files; fsyncing the directory
 * once per file made the writes wait on each other.
 *
 * @module
 */

/** Coalesces `sync(dir)` calls per directory; `fsyncDir` does the real work. */
export class DirSync {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Promise<void>>();

  constructor(private readonly fsyncDir: (dir: string) => Promise<void>) {}

  /** Resolves once an fsync of `dir` that started after this call completed. */
  sync(dir: string): Promise<void> {
    const queued = this.queued.get(dir);
    if (queued !== undefined) return queued;
    const running = this.inFlight.get(dir);
    if (running === undefined) return this.start(dir);
    const next = running.catch(() => undefined).then(() => {
      this.queued.delete(dir);
      return this.start(dir);
    });
    this.queued.set(dir, next);
    return next;
  }

  private start(dir: string): Promise<void> {
    const run = this.fsyncDir(dir).finally(() => {
      if (this.inFlight.get(dir) === run) this.inFlight.delete(dir);
    });
    this.inFlight.set(dir, run);
    return run;
  }
}
