/**
 * Joins the messages one connection sends during one event-loop turn into one frame: the
 * first message of a turn schedules a flush with `setImmediate`, so a message waits at most
 * until the turn's other callbacks have run (as {@link WriteCoalescer}'s cork does for
 * writes). One frame instead of twenty saves the per-frame work on both ends (framing,
 * the receiver's parsing loop and events, a dispatch per frame), which was most of what a
 * busy master and emulator spent per message once their writes were coalesced.
 *
 * What a joined frame looks like is the caller's (`join`); the agent protocol's is
 * `batchFrame` in sdk/protocol/agent.ts.
 *
 * @module
 */

export interface FrameBatcherOptions {
  /** Sends one frame (the socket's send). */
  send(frame: string): void;
  /** The frame carrying these frames, in order (called with at least one). */
  join(frames: readonly string[]): string;
  /** A frame is sent early once its messages reach this many characters. */
  maxChars: number;
  /** …or this many messages. */
  maxMessages: number;
}

/** Queues one connection's outgoing messages until the end of the turn. */
export class FrameBatcher {
  private pending: string[] = [];
  private chars = 0;
  private scheduled = false;

  constructor(private readonly o: FrameBatcherOptions) {}

  /** Queues `frame` (the JSON of one message) for the end of this turn. */
  push(frame: string): void {
    if (this.pending.length > 0 && (this.chars + frame.length > this.o.maxChars || this.pending.length >= this.o.maxMessages)) this.flush();
    this.pending.push(frame);
    this.chars += frame.length;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Sends what is queued now, as one frame. */
  flush(): void {
    if (this.pending.length === 0) return;
    const frames = this.pending;
    this.pending = [];
    this.chars = 0;
    this.o.send(this.o.join(frames));
  }

  /** Drops what is queued (the connection is gone). */
  discard(): void {
    this.pending = [];
    this.chars = 0;
  }
}
