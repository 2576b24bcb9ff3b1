/**
 * Leader detection over ZooKeeper: watches the children of the election group and reads
 * the lowest member's data (Mesos's detector). Watches are re-armed after every event, and
 * everything is re-read after a reconnection or a new session. After a session expiry the
 * leader is unknown (reported as `undefined`) until the new session has looked again.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import type { LeaderDetector } from '../core/leadership.js';
import { sortMembers, type ZkGroupOptions } from './group.js';
import { GroupLooker } from './group-looker.js';
import type { ZkSession } from './session.js';
import { joinZkPath } from './url.js';

/** Options of {@link createZkDetector}. */
export type ZkDetectorOptions = ZkGroupOptions;

/**
 * Follows the leader of the election under `groupPath`. `onChange` listeners are called
 * once with the first known state (after `start`) and then on every change.
 *
 * @example
 * const detector = createZkDetector(session, '/agora');
 * await detector.start();
 * const info = JSON.parse(await detector.waitForLeader(10_000));
 */
export function createZkDetector(session: ZkSession, groupPath: string, opts: ZkDetectorOptions = {}): ZkDetector {
  return new ZkDetector(session, groupPath, opts);
}

/** {@link LeaderDetector} over ZooKeeper. */
export class ZkDetector implements LeaderDetector {
  private state: 'new' | 'running' | 'stopped' = 'new';
  private leaderData: string | undefined;
  /** The member whose data we report. */
  private leaderMember: string | undefined;
  /** Whether the first look has completed (listeners get an immediate call from then on). */
  private known = false;
  private childWatchArmed = false;
  private dataWatchArmedFor: string | undefined;
  private readonly listeners = new Set<(leaderData: string | undefined) => void>();
  private readonly looker: GroupLooker;

  constructor(
    private readonly session: ZkSession,
    private readonly groupPath: string,
    private readonly opts: ZkDetectorOptions = {},
  ) {
    this.looker = new GroupLooker(session, opts, { look: () => this.refresh(), expired: () => this.sessionExpired(), what: 'leader detection' });
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new AgoraError('AGORA_LEADERSHIP_STATE', `cannot start a ZooKeeper detector that is ${this.state}`);
    this.state = 'running';
    this.looker.attach();
    await this.looker.look();
  }

  current(): string | undefined {
    return this.leaderData;
  }

  /** The current leader's member name, e.g. `json.info_0000000003` (for tests and logs). */
  get leaderZnode(): string | undefined {
    return this.leaderMember === undefined ? undefined : joinZkPath(this.groupPath, this.leaderMember);
  }

  onChange(listener: (leaderData: string | undefined) => void): () => void {
    this.listeners.add(listener);
    if (this.known) listener(this.leaderData);
    return () => this.listeners.delete(listener);
  }

  waitForLeader(timeoutMs: number): Promise<string> {
    if (this.leaderData !== undefined) return Promise.resolve(this.leaderData);
    return new Promise<string>((resolve, reject) => {
      const timer = this.looker.clock.setTimeout(() => {
        this.listeners.delete(listener);
        reject(new AgoraError('AGORA_LEADER_TIMEOUT', `no leader under ${this.groupPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (data: string | undefined): void => {
        if (data === undefined) return;
        timer.cancel();
        this.listeners.delete(listener);
        resolve(data);
      };
      this.listeners.add(listener);
    });
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.looker.detach();
  }

  private async refresh(): Promise<void> {
    if (this.state !== 'running') return;
    const generation = this.looker.generation;
    const stale = (): boolean => !this.looker.isCurrent(generation);
    const again = (): void => {
      if (generation === this.looker.generation) void this.looker.look();
    };

    let children: string[];
    try {
      const arm = !this.childWatchArmed;
      children = await this.session.children(
        this.groupPath,
        arm
          ? () => {
              if (generation === this.looker.generation) this.childWatchArmed = false;
              again();
            }
          : undefined,
      );
      if (arm && !stale()) this.childWatchArmed = true;
    } catch (err) {
      if (!(err instanceof AgoraError && err.code === 'AGORA_ZK_NO_NODE')) throw err;
      // No group yet: wait for it to appear.
      const present = await this.session.exists(this.groupPath, again);
      if (stale()) return;
      if (present) again();
      else this.report(undefined, undefined);
      return;
    }
    if (stale()) return;

    const lowest = sortMembers(children, this.looker.prefix)[0];
    if (lowest === undefined) {
      this.report(undefined, undefined);
      return;
    }
    const arm = this.dataWatchArmedFor !== lowest;
    const node = await this.session.get(
      joinZkPath(this.groupPath, lowest),
      arm
        ? () => {
            if (generation === this.looker.generation && this.dataWatchArmedFor === lowest) this.dataWatchArmedFor = undefined;
            again();
          }
        : undefined,
    );
    if (stale()) return;
    if (node === undefined) {
      // Deleted between the listing and the read: the child watch fires too; look again.
      again();
      return;
    }
    if (arm) this.dataWatchArmedFor = lowest;
    this.report(lowest, node.data.toString('utf8'));
  }

  private report(member: string | undefined, data: string | undefined): void {
    const first = !this.known;
    this.known = true;
    this.leaderMember = member;
    if (!first && data === this.leaderData) return;
    this.leaderData = data;
    this.opts.logger?.info({ group: this.groupPath, leader: member }, data === undefined ? 'no leader' : 'leader detected');
    for (const fn of [...this.listeners]) {
      try {
        fn(data);
      } catch (err) {
        // A throwing listener must not break detection (or the other listeners).
        this.opts.logger?.error({ err }, 'leader change listener threw');
      }
    }
  }

  /** The session expired (the looker bumped the generation): watches are gone, the leader unknown. */
  private sessionExpired(): void {
    this.childWatchArmed = false;
    this.dataWatchArmedFor = undefined;
    // Until the new session has looked, we do not know who leads.
    if (this.leaderData !== undefined) this.report(undefined, undefined);
  }
}
