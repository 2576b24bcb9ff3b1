/**
 * A framework's SUBSCRIBE response: `200`, `Content-Type: application/json` (exactly, no
 * charset), `Mesos-Stream-Id`, chunked transfer; each event one RecordIO record. The records
 * of one turn of the event loop are joined and leave in one `res.write` at its end (a record
 * is never split across writes), so a busy master pays Node's per-write cost and the chunk
 * framing once per turn, not once per event. A record's JSON comes from event-json.ts (UPDATEs
 * from a template, the same bytes as JSON.stringify).
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { SchedulerEvent } from '../../sdk/protocol/index.js';
import type { EventStream } from '../connections.js';
import { CALL_BATCH_HEADER, MAX_BATCH_CALLS } from '../../sdk/core/call-batch.js';
import { pushEventRecord } from './event-json.js';

export class HttpEventStream implements EventStream {
  private ended = false;
  private readonly closeListeners: Array<() => void> = [];
  /** RecordIO records sent this turn, written together by {@link flush}. */
  private pending: string[] = [];

  constructor(private readonly res: ServerResponse, readonly streamId: string) {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Mesos-Stream-Id': streamId,
      'Cache-Control': 'no-cache',
      // Agora extension: this master takes call batches (batch.ts); Mesos clients ignore it.
      [CALL_BATCH_HEADER]: String(MAX_BATCH_CALLS),
    });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    // A stream never times out on our side; the client's disconnect ends it.
    res.socket?.setTimeout(0);
    res.on('close', () => {
      const byPeer = !this.ended;
      this.ended = true;
      if (byPeer) for (const l of this.closeListeners) l();
    });
  }

  get closed(): boolean {
    return this.ended || this.res.destroyed || this.res.writableEnded;
  }

  send(event: SchedulerEvent): boolean {
    if (this.closed) return false;
    // Events of one turn of the event loop leave in one write: a busy master sends a
    // framework thousands of UPDATEs a second, and a write each (a syscall, then Node's
    // per-write and chunk cost) was a large part of its time. close() flushes first.
    if (this.pending.length === 0) setImmediate(() => this.flush());
    pushEventRecord(event, this.pending);
    return true;
  }

  /** Writes the records of this turn in one write. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const records = this.pending.join('');
    this.pending = [];
    if (!this.res.destroyed && !this.res.writableEnded) this.res.write(records);
  }

  /** Ends the stream from the master's side, after the records already sent; close listeners are not called. */
  close(): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    this.res.end();
  }

  /** Called once when the client goes away (not when {@link close} ends the stream). */
  onPeerClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }
}
