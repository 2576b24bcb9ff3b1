/**
 * Leader election over ZooKeeper (the classic recipe, Mesos's layout): each contender
 * creates an EPHEMERAL_SEQUENTIAL znode `<group>/<prefix><seq>` holding its data; the
 * lowest sequence leads. A follower watches only its predecessor (no herd effect: a change
 * wakes one contender). On session expiry the contender is demoted at once (if leading)
 * and re-joins with a new znode and the same data once the new session is connected.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';
import type { LeaderElector } from '../core/leadership.js';
import { contenderPosition, type ZkGroupOptions } from './group.js';
import { GroupLooker } from './group-looker.js';
import type { ZkSession } from './session.js';
import { joinZkPath } from './url.js';

/** Options of {@link createZkElector}. */
export type ZkElectorOptions = ZkGroupOptions;

/**
 * A contender in the election under `groupPath`.
 *
 * @example
 * const elector = createZkElector(session, '/agora', { logger });
 * elector.onElected(() => becomeLeader());
 * elector.onDemoted((why) => process.exit(1));
 * await elector.start(JSON.stringify(masterInfo));
 */
export function createZkElector(session: ZkSession, groupPath: string, opts: ZkElectorOptions = {}): ZkElector {
  return new ZkElector(session, groupPath, opts);
}

type ElectorState = 'new' | 'running' | 'stopped';

/** {@link LeaderElector} over ZooKeeper. */
export class ZkElector implements LeaderElector {
  private state: ElectorState = 'new';
  private data = '';
  private leading = false;
  /** Our member name (not path) in the current session; undefined when not joined. */
  private member: string | undefined;
  /** The predecessor we watch, and whether that watch is armed. */
  private watched: string | undefined;
  /** The member whose own-znode watch is armed. */
  private ownWatchFor: string | undefined;
  private readonly elected = new Set<() => void>();
  private readonly demoted = new Set<(reason: string) => void>();
  /** Runs `check` one at a time, on reconnection and after failures; its generation discards stale results. */
  private readonly looker: GroupLooker;

  constructor(
    private readonly session: ZkSession,
    private readonly groupPath: string,
    private readonly opts: ZkElectorOptions = {},
  ) {
    this.looker = new GroupLooker(session, opts, { look: () => this.check(), expired: () => this.sessionExpired(), what: 'leader election' });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Our znode's full path while joined (for tests and logs). */
  get znode(): string | undefined {
    return this.member === undefined ? undefined : joinZkPath(this.groupPath, this.member);
  }

  /** The member name of the predecessor we watch, if any (for tests). */
  get watching(): string | undefined {
    return this.watched;
  }

  async start(data: string): Promise<void> {
    if (this.state !== 'new') throw new AgoraError('AGORA_LEADERSHIP_STATE', `cannot start a ZooKeeper elector that is ${this.state}`);
    this.state = 'running';
    this.data = data;
    this.looker.attach();
    try {
      await this.session.mkdirp(this.groupPath);
      await this.join(this.looker.generation);
    } catch (err) {
      await this.stop();
      throw new AgoraError('AGORA_ZK_ELECTION_FAILED', `could not join the election at ${this.groupPath}: ${(err as Error).message}`, { cause: err });
    }
    await this.looker.look();
  }

  onElected(listener: () => void): () => void {
    this.elected.add(listener);
    if (this.leading) listener();
    return () => this.elected.delete(listener);
  }

  onDemoted(listener: (reason: string) => void): () => void {
    this.demoted.add(listener);
    return () => this.demoted.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.looker.detach();
    this.leading = false;
    this.watched = undefined;
    const member = this.member;
    this.member = undefined;
    if (member !== undefined) {
      try {
        await this.session.delete(joinZkPath(this.groupPath, member));
      } catch (err) {
        // The znode is ephemeral: it goes with the session anyway.
        this.opts.logger?.warn({ err, member }, 'could not delete our election znode');
      }
    }
  }

  private async join(generation: number): Promise<void> {
    const memberPath = joinZkPath(this.groupPath, this.looker.prefix);
    let path: string;
    try {
      path = await this.session.create(memberPath, this.data, 'EPHEMERAL_SEQUENTIAL');
    } catch (err) {
      // The group was deleted from outside: create it again.
      if (!(err instanceof AgoraError && err.code === 'AGORA_ZK_NO_NODE')) throw err;
      await this.session.mkdirp(this.groupPath);
      path = await this.session.create(memberPath, this.data, 'EPHEMERAL_SEQUENTIAL');
    }
    const member = path.slice(path.lastIndexOf('/') + 1);
    if (!this.looker.isCurrent(generation)) {
      // Stopped or expired meanwhile: this znode is not ours to keep.
      await this.session.delete(path).catch(() => undefined);
      return;
    }
    this.member = member;
    this.opts.logger?.info({ znode: path }, 'joined the leader election');
  }

  /** One look at the group: lead, watch the predecessor, or re-join. */
  private async check(): Promise<void> {
    if (this.state !== 'running') return;
    const generation = this.looker.generation;
    if (this.member === undefined) {
      await this.join(generation);
      if (this.member === undefined) return;
    }
    const member = this.member;
    if (this.ownWatchFor !== member) {
      // Watch our own znode too: deleted from outside, we must stop leading at once.
      const present = await this.session.exists(joinZkPath(this.groupPath, member), () => {
        if (this.ownWatchFor === member) this.ownWatchFor = undefined;
        if (generation === this.looker.generation) void this.looker.look();
      });
      if (!this.looker.isCurrent(generation)) return;
      if (present) this.ownWatchFor = member;
    }
    let children: string[];
    try {
      children = await this.session.children(this.groupPath);
    } catch (err) {
      // The whole group was deleted from outside: our znode is gone with it.
      if (!(err instanceof AgoraError && err.code === 'AGORA_ZK_NO_NODE')) throw err;
      children = [];
    }
    if (!this.looker.isCurrent(generation)) return;
    const position = contenderPosition(children, this.looker.prefix, member);
    switch (position.kind) {
      case 'leader':
        this.watched = undefined;
        if (!this.leading) {
          this.leading = true;
          this.opts.logger?.info({ znode: this.znode }, 'elected leader');
          for (const fn of [...this.elected]) this.safely(fn);
        }
        return;
      case 'gone':
        // Our znode was deleted from outside (the session is still alive): re-join.
        this.opts.logger?.warn({ member: this.member }, 'our election znode disappeared; re-joining');
        this.member = undefined;
        this.watched = undefined;
        this.demote('election znode deleted');
        void this.looker.look();
        return;
      case 'follower': {
        this.demote('a lower contender appeared');
        const predecessor = position.watch;
        this.watched = predecessor;
        const present = await this.session.exists(joinZkPath(this.groupPath, predecessor), () => {
          if (generation === this.looker.generation) void this.looker.look();
        });
        // Gone between the listing and the watch: look again.
        if (!present && generation === this.looker.generation) void this.looker.look();
        return;
      }
      default: {
        const never: never = position;
        throw new Error(`unknown position ${JSON.stringify(never)}`);
      }
    }
  }

  /** The session expired (the looker bumped the generation): demoted now, re-joins once reconnected. */
  private sessionExpired(): void {
    this.member = undefined;
    this.watched = undefined;
    this.ownWatchFor = undefined;
    this.demote('ZooKeeper session expired');
    // Re-joining happens on the new session's 'connected'.
  }

  private demote(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.opts.logger?.warn({ reason }, 'lost leadership');
    for (const fn of [...this.demoted]) this.safely(() => fn(reason));
  }

  /** A throwing listener must not break the recipe (or the other listeners). */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.logger?.error({ err }, 'leadership listener threw');
    }
  }
}
