/**
 * A TCP proxy with faults, between one slave and the leading master. Pure `node:net`.
 *
 * - It resolves its target at each new connection (the caller's `resolveTarget`: the current
 *   leading master), so a slave that reconnects after a failover reaches the new leader
 *   through the same proxy address. No target → the connection is closed at once (the slave
 *   backs off and retries).
 * - `drop()`: a blackhole. Both directions stop being read (the bytes wait in the kernel
 *   buffers, as on a partitioned link: nothing is lost or corrupted, nothing arrives), the
 *   sockets stay open, and new connections are accepted and held without dialling the
 *   target. `restore()` lets everything flow again (held connections then dial).
 * - `delay(ms)`: every chunk is forwarded `ms` later, order kept (also across a change of
 *   latency: a chunk never overtakes an earlier one).
 * - `cut()`: destroys every current connection; new ones are accepted.
 *
 * Every timer goes through the injected {@link Clock}.
 *
 * @module
 */
import net from 'node:net';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface FaultProxyOptions {
  /** Where a new connection should go now (undefined: nowhere, close it). */
  resolveTarget: () => Promise<ProxyTarget | undefined>;
  clock: Clock;
  /** Diagnostics (a connection's target, a failed dial). */
  onEvent?: (event: { msg: string; [k: string]: unknown }) => void;
}

/** One direction of a connection: chunks queued with the time they may leave. */
class DelayedPipe {
  private queue: Array<{ at: number; chunk: Buffer }> = [];
  private timer: TimerHandle | undefined;
  private lastAt = 0;

  constructor(private readonly to: net.Socket, private readonly proxy: FaultProxy, private readonly clock: Clock) {}

  push(chunk: Buffer): void {
    const at = Math.max(this.clock.now() + this.proxy.latencyMs, this.lastAt);
    this.lastAt = at;
    this.queue.push({ at, chunk });
    this.flush();
  }

  /** Writes every due chunk; re-arms a timer for the next one. Nothing leaves while dropping. */
  flush(): void {
    if (this.proxy.dropping) return;
    const now = this.clock.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.queue.length > 0 && this.timer === undefined) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.queue[0]!.at - now);
    }
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.queue = [];
  }
}

interface Connection {
  downstream: net.Socket;
  upstream?: net.Socket;
  pipes: DelayedPipe[];
  /** Accepted while dropping: dials once restored. */
  held: boolean;
}

/** See the module comment. */
export class FaultProxy {
  /** Current added latency (ms). */
  latencyMs = 0;
  /** True while blackholing. */
  dropping = false;
  private readonly server: net.Server;
  private readonly conns = new Set<Connection>();
  private closed = false;
  /** Connections accepted since start (diagnostics). */
  accepted = 0;

  constructor(private readonly o: FaultProxyOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => this.o.onEvent?.({ msg: 'proxy server error', error: err.message }));
  }

  /** Listens on 127.0.0.1 (port 0 unless given); resolves with the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get connections(): number {
    return this.conns.size;
  }

  drop(): void {
    this.dropping = true;
    for (const c of this.conns) {
      c.downstream.pause();
      c.upstream?.pause();
    }
  }

  restore(): void {
    this.dropping = false;
    this.latencyMs = 0;
    for (const c of [...this.conns]) {
      if (c.held) {
        c.held = false;
        void this.dial(c);
        continue;
      }
      c.downstream.resume();
      c.upstream?.resume();
      for (const p of c.pipes) p.flush();
    }
  }

  delay(latencyMs: number): void {
    this.latencyMs = Math.max(0, latencyMs);
  }

  cut(): void {
    for (const c of [...this.conns]) this.destroy(c);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(downstream: net.Socket): void {
    this.accepted++;
    if (this.closed) {
      downstream.destroy();
      return;
    }
    const c: Connection = { downstream, pipes: [], held: this.dropping };
    this.conns.add(c);
    downstream.pause();
    downstream.on('error', () => this.destroy(c));
    downstream.on('close', () => this.destroy(c));
    if (!c.held) void this.dial(c);
  }

  private async dial(c: Connection): Promise<void> {
    let target: ProxyTarget | undefined;
    try {
      target = await this.o.resolveTarget();
    } catch (err) {
      this.o.onEvent?.({ msg: 'proxy could not resolve its target', error: (err as Error).message });
    }
    if (!this.conns.has(c)) return;
    if (target === undefined) {
      this.destroy(c);
      return;
    }
    if (this.dropping) {
      // Dropped while resolving: hold it until restored.
      c.held = true;
      return;
    }
    const upstream = net.createConnection({ host: target.host, port: target.port });
    c.upstream = upstream;
    upstream.on('error', () => this.destroy(c));
    upstream.on('close', () => this.destroy(c));
    const down = new DelayedPipe(upstream, this, this.o.clock);
    const up = new DelayedPipe(c.downstream, this, this.o.clock);
    c.pipes = [down, up];
    c.downstream.on('data', (chunk: Buffer) => down.push(chunk));
    upstream.on('data', (chunk: Buffer) => up.push(chunk));
    c.downstream.resume();
    this.o.onEvent?.({ msg: 'proxy connected', target: `${target.host}:${target.port}` });
  }

  private destroy(c: Connection): void {
    if (!this.conns.delete(c)) return;
    for (const p of c.pipes) p.close();
    c.downstream.destroy();
    c.upstream?.destroy();
  }
}
