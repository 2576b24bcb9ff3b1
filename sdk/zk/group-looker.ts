/**
 * The loop both group recipes run (election.ts, detection.ts): one look at the group at a
 * time (a {@link SerialTask}: watches and session events only ask to look again), a look on
 * every reconnection, a retry after `retryMs` when a look fails while connected (while
 * disconnected, the next `connected` retries), and a generation bumped on session expiry and
 * on stop, so that a look that began before either discards what it found.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import { DEFAULT_MEMBER_PREFIX, type ZkGroupOptions } from './group.js';
import { SerialTask } from './serial.js';
import type { ZkSession } from './session.js';

/** What a recipe plugs into its {@link GroupLooker}. */
export interface GroupLookerHooks {
  /** One look at the group (read, watch, act). */
  look(): Promise<void>;
  /** The session expired while attached; the generation is already bumped and the retry cancelled. */
  expired(): void;
  /** The recipe's name in the retry warning, e.g. `'leader election'`. */
  what: string;
}

export class GroupLooker {
  /** Member name prefix (validated). */
  readonly prefix: string;
  readonly clock: Clock;
  /** Bumped on session expiry and on detach: looks of an older generation are stale. */
  generation = 0;
  private attached = false;
  private retryTimer: TimerHandle | undefined;
  private readonly retryMs: number;
  private readonly task: SerialTask;
  private readonly onConnected = (): void => void this.task.run();
  private readonly onExpired = (): void => {
    if (!this.attached) return;
    this.generation++;
    this.retryTimer?.cancel();
    this.hooks.expired();
  };

  constructor(
    private readonly session: ZkSession,
    private readonly opts: ZkGroupOptions,
    private readonly hooks: GroupLookerHooks,
  ) {
    this.prefix = opts.prefix ?? DEFAULT_MEMBER_PREFIX;
    if (this.prefix === '' || this.prefix.includes('/')) throw new AgoraError('AGORA_ZK_BAD_ARGUMENTS', `invalid member prefix '${this.prefix}'`);
    this.clock = opts.clock ?? systemClock;
    this.retryMs = opts.retryMs ?? 500;
    this.task = new SerialTask(() => hooks.look(), (err) => this.failed(err));
  }

  /** Follows the session's `connected` and `expired` events from now on. */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.session.on('connected', this.onConnected);
    this.session.on('expired', this.onExpired);
  }

  /** Stops following the session: every look in progress is stale from here on. */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.generation++;
    this.retryTimer?.cancel();
    this.session.off('connected', this.onConnected);
    this.session.off('expired', this.onExpired);
  }

  /** Asks for a look; resolves when a look that began after this call has finished. */
  look(): Promise<void> {
    return this.task.run();
  }

  /** Whether a look that began in `generation` may still act on what it found. */
  isCurrent(generation: number): boolean {
    return this.attached && generation === this.generation;
  }

  private failed(err: unknown): void {
    if (!this.attached) return;
    this.opts.logger?.warn({ err }, `${this.hooks.what} step failed; retrying`);
    if (!this.session.connected) return;
    this.retryTimer?.cancel();
    this.retryTimer = this.clock.setTimeout(() => void this.task.run(), this.retryMs);
  }
}
