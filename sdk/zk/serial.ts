/**
 * Runs an async task one at a time, coalescing requests: asking while a run is queued
 * returns that queued run; asking while one runs queues exactly one more. Watches and
 * session events of the recipes all just ask for "look again".
 *
 * @module
 */
export class SerialTask {
  private queued: Promise<void> | undefined;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Requests a run; resolves when a run that started after this call has finished. */
  run(): Promise<void> {
    if (this.queued) return this.queued;
    const p = this.tail.then(async () => {
      this.queued = undefined;
      try {
        await this.task();
      } catch (err) {
        this.onError(err);
      }
    });
    this.queued = p;
    this.tail = p;
    return p;
  }
}
