/**
 * Coalesces the writes one turn of the event loop makes to a socket into one system call:
 * the first write of a turn corks the socket and an immediate uncorks it once the turn's
 * other callbacks have run. A busy master or emulator sends thousands of small WebSocket
 * frames a second; written one by one, the `writev` calls were the largest single cost in
 * their profiles. A frame waits at most until the end of the current turn.
 *
 * @module
 */
import type { Writable } from 'node:stream';

/** Cork/uncork bookkeeping for one writable (a socket or an HTTP response). */
export class WriteCoalescer {
  private corked = false;

  constructor(private readonly target: Pick<Writable, 'cork' | 'uncork' | 'writableEnded' | 'destroyed'>) {}

  /** Call before each write: corks the target until the end of this turn if not yet corked. */
  beforeWrite(): void {
    if (this.corked || this.target.destroyed || this.target.writableEnded) return;
    this.corked = true;
    this.target.cork();
    setImmediate(() => {
      this.corked = false;
      this.target.uncork();
    });
  }
}
