/**
 * A framework's SUBSCRIBE response: `200`, `Content-Type: application/json` (exactly, no
 * charset), `Mesos-Stream-Id`, chunked transfer; each event one RecordIO record written in a
 * single `res.write` so a record is never split across writes.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { encodeRecord, type SchedulerEvent } from '../../sdk/protocol/index.js';
import type { EventStream } from '../connections.js';
import { WriteCoalescer } from '../../sdk/core/write-coalescer.js';
import { CALL_BATCH_HEADER, MAX_BATCH_CALLS } from '../../sdk/core/call-batch.js';

export class HttpEventStream implements EventStream {
  private ended = false;
  private readonly coalescer: WriteCoalescer;
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly res: ServerResponse, readonly streamId: string) {
    this.coalescer = new WriteCoalescer(res);
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
    // Events of one turn of the event loop leave in one socket write: a busy master sends a
    // framework thousands of UPDATEs a second, and a write (a syscall) each was a large part
    // of its time. Ending the stream flushes what is corked.
    this.coalescer.beforeWrite();
    this.res.write(encodeRecord(JSON.stringify(event)));
    return true;
  }

  /** Ends the stream from the master's side; close listeners are not called. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.res.end();
  }

  /** Called once when the client goes away (not when {@link close} ends the stream). */
  onPeerClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }
}
