/**
 * The DECLINE/ACCEPT filters in force (Mesos's refused-resources filters), kept for the
 * allocation loop (allocation.ts):
 * - by agent: a pass reads only the filters of the agents it visits;
 * - by expiry, in a heap: a pass pops the filters that expired instead of scanning them all;
 * - the agents whose filters went away (expired, or cleared by REVIVE or the framework's
 *   removal) until the loop takes them: their resources may be offerable to someone again,
 *   so the next pass must revisit them even though nothing else about them changed.
 *
 * A framework declining every offer on a cluster of 15,000 agents leaves 15,000 filters; a
 * pass that scanned and indexed all of them, then checked each filtered agent again, took
 * ~30 ms, and passes run after every status change.
 *
 * @module
 */
import type { OfferFilter } from './allocator/types.js';

export class OfferFilters {
  private readonly byAgent = new Map<string, OfferFilter[]>();
  /** Every filter in force (the heap may still hold filters removed since: skipped lazily). */
  private readonly live = new Set<OfferFilter>();
  /** Min-heap on `expiresAt`. */
  private heap: OfferFilter[] = [];
  private released = new Set<string>();

  /** Number of filters in force. */
  get size(): number {
    return this.live.size;
  }

  add(filter: OfferFilter): void {
    this.live.add(filter);
    const list = this.byAgent.get(filter.agentId);
    if (list === undefined) this.byAgent.set(filter.agentId, [filter]);
    else list.push(filter);
    this.push(filter);
  }

  /** The filters in force on `agentId` (some may have expired since the last {@link expire}). */
  of(agentId: string): readonly OfferFilter[] | undefined {
    return this.byAgent.get(agentId);
  }

  /** Every filter in force, in no particular order. */
  all(): OfferFilter[] {
    return [...this.live];
  }

  /** REVIVE (and framework removal): the framework's filters go. */
  clearFramework(frameworkId: string): void {
    for (const [agentId, list] of this.byAgent) {
      if (!list.some((f) => f.frameworkId === frameworkId)) continue;
      const kept = list.filter((f) => {
        if (f.frameworkId !== frameworkId) return true;
        this.live.delete(f);
        return false;
      });
      if (kept.length === 0) this.byAgent.delete(agentId);
      else this.byAgent.set(agentId, kept);
      this.released.add(agentId);
    }
    this.compactIfSparse();
  }

  /** The agent is gone: its filters go. */
  clearAgent(agentId: string): void {
    const list = this.byAgent.get(agentId);
    if (list === undefined) return;
    for (const f of list) this.live.delete(f);
    this.byAgent.delete(agentId);
    this.released.add(agentId);
    this.compactIfSparse();
  }

  /** Removes the filters with `expiresAt <= now`; their agents count as released. */
  expire(now: number): void {
    for (;;) {
      const top = this.top();
      if (top === undefined || top.expiresAt > now) return;
      this.pop();
      this.live.delete(top);
      const list = this.byAgent.get(top.agentId)!;
      const kept = list.filter((f) => f !== top);
      if (kept.length === 0) this.byAgent.delete(top.agentId);
      else this.byAgent.set(top.agentId, kept);
      this.released.add(top.agentId);
    }
  }

  /** When the next filter in force expires, if any. */
  nextExpiry(): number | undefined {
    return this.top()?.expiresAt;
  }

  /** The agents whose filters went away since the last call (and forgets them). */
  takeReleased(): ReadonlySet<string> {
    const taken = this.released;
    if (taken.size > 0) this.released = new Set();
    return taken;
  }

  /** The earliest filter still in force; removed ones on top are dropped on the way. */
  private top(): OfferFilter | undefined {
    while (this.heap.length > 0 && !this.live.has(this.heap[0]!)) this.pop();
    return this.heap[0];
  }

  /** Rebuilds the heap from the filters in force once it is mostly removed ones. */
  private compactIfSparse(): void {
    if (this.heap.length <= 2 * this.live.size + 64) return;
    this.heap = [];
    for (const f of this.live) this.push(f);
  }

  private push(filter: OfferFilter): void {
    const { heap } = this;
    let i = heap.length;
    heap.push(filter);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.expiresAt <= filter.expiresAt) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = filter;
  }

  private pop(): void {
    const { heap } = this;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.expiresAt < heap[left]!.expiresAt ? right : left;
      if (heap[child]!.expiresAt >= last.expiresAt) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
