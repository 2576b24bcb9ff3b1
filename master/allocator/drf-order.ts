/**
 * The allocator's DRF order of candidates (lowest dominant share first, ties by framework
 * id), kept across the agents of one pass: a served candidate's share only grows, so after
 * each agent it moves later, and only it moves.
 *
 * Held in a ring buffer, because in the common case the candidate at the head is served and
 * then belongs at (or near) the tail: moving it by shifting the elements between its old
 * and new places costs O(frameworks) per agent, which at 100 frameworks was most of a pass;
 * the ring instead rotates the head past the end and shifts whichever side is shorter.
 * The new place is found by binary search when the order is known to be intact, and by the
 * original linear walk otherwise (see {@link DrfOrder.noteShareChange}), so the order is
 * exactly what moving element by element would give.
 *
 * @module
 */

/** What the order compares: a dominant share and a framework id. */
export interface Ranked {
  share: number;
  readonly id: string;
}

/** Lower share first, then framework id (locale-independent string order). */
export function byShareThenId(x: Ranked, y: Ranked): number {
  return x.share - y.share || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
}

export class DrfOrder<T extends Ranked> {
  private readonly ring: T[];
  private start = 0;
  /**
   * False once a share went down (only possible with a NaN scalar in the input): the list may
   * then be out of order, where a binary search would not find what the linear walk finds.
   */
  private sorted = true;

  /** `items` in DRF order (sorted here, stably; the caller's array is not changed). */
  constructor(items: readonly T[]) {
    this.ring = [...items].sort(byShareThenId);
  }

  get length(): number {
    return this.ring.length;
  }

  /** The item at logical position `k` (0 = lowest share), 0 <= k < length. */
  at(k: number): T {
    const i = this.start + k;
    const n = this.ring.length;
    return this.ring[i < n ? i : i - n]!;
  }

  /** Records that an item's share went from `before` to `after`; call before {@link moveLater}. */
  noteShareChange(before: number, after: number): void {
    if (!(after >= before)) this.sorted = false;
  }

  /**
   * Moves the item at logical position `k`, whose share grew, to just before the first later
   * item that does not rank below it (or to the end). Items after `k` must not have changed
   * since they were last placed (true when several are moved last-first).
   */
  moveLater(k: number): void {
    const item = this.at(k);
    const n = this.ring.length;
    // p: the first position after k whose item does not rank below `item`; n when none.
    let p: number;
    if (this.sorted) {
      let lo = k + 1;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (byShareThenId(this.at(mid), item) < 0) lo = mid + 1;
        else hi = mid;
      }
      p = lo;
    } else {
      p = k + 1;
      while (p < n && byShareThenId(this.at(p), item) < 0) p++;
    }
    if (p === k + 1) return;
    // The item ends at p - 1. Either shift (k, p) one left, or shift [0, k) one right and
    // rotate (the freed head slot becomes the tail) and then [p, n) one right: same result.
    if (p - 1 - k <= k + (n - p)) {
      for (let j = k; j < p - 1; j++) this.set(j, this.at(j + 1));
      this.set(p - 1, item);
    } else {
      for (let j = k; j > 0; j--) this.set(j, this.at(j - 1));
      this.start = this.start + 1 === n ? 0 : this.start + 1;
      // Logical n - 1 is now the old head slot (free); items [p - 1, n - 1) move one right.
      for (let j = n - 1; j > p - 1; j--) this.set(j, this.at(j - 1));
      this.set(p - 1, item);
    }
  }

  private set(k: number, item: T): void {
    const i = this.start + k;
    const n = this.ring.length;
    this.ring[i < n ? i : i - n] = item;
  }
}
