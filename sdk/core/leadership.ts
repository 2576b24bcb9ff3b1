/**
 * Leader election and detection, as the master and Marathon see them. Two implementations
 * of each: ZooKeeper (sdk/zk: EPHEMERAL|SEQUENCE znodes, lowest sequence leads) and
 * standalone (below: the only contender always leads; the leader is a fixed address).
 * Both pass one contract test suite.
 *
 * @module
 */

/** A contender in an election. */
export interface LeaderElector {
  /**
   * Joins the election, publishing `data` (e.g. MasterInfo JSON) for detectors to read.
   * Resolves once registered (not once elected).
   */
  start(data: string): Promise<void>;
  /** True while this contender leads. */
  readonly isLeader: boolean;
  /** Called each time this contender becomes leader. */
  onElected(listener: () => void): () => void;
  /**
   * Called when this contender stops leading without having asked to (ZooKeeper session
   * expired or lost). A leader must stop acting as leader at once.
   */
  onDemoted(listener: (reason: string) => void): () => void;
  /** Leaves the election (a leader hands over: its znode is deleted). */
  stop(): Promise<void>;
}

/** Follows who leads an election. */
export interface LeaderDetector {
  start(): Promise<void>;
  /** The current leader's published data, or undefined when there is none. */
  current(): string | undefined;
  /** Called on every change (including to "no leader"); returns an unsubscribe function. */
  onChange(listener: (leaderData: string | undefined) => void): () => void;
  /** Resolves with the leader's data once there is one (immediately if there is), or rejects after timeoutMs. */
  waitForLeader(timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

/** Standalone mode: the only contender, leader as soon as it starts. */
export class StandaloneElector implements LeaderElector {
  private leading = false;
  private readonly elected = new Set<() => void>();

  async start(_data: string): Promise<void> {
    this.leading = true;
    for (const fn of this.elected) fn();
  }
  get isLeader(): boolean {
    return this.leading;
  }
  onElected(listener: () => void): () => void {
    this.elected.add(listener);
    if (this.leading) listener();
    return () => this.elected.delete(listener);
  }
  onDemoted(_listener: (reason: string) => void): () => void {
    return () => undefined;
  }
  async stop(): Promise<void> {
    this.leading = false;
  }
}

/** Standalone mode: the leader is a fixed, known value (e.g. `host:port` of the master). */
export class StaticDetector implements LeaderDetector {
  constructor(private readonly leader: string) {}
  async start(): Promise<void> {}
  current(): string {
    return this.leader;
  }
  onChange(listener: (leaderData: string | undefined) => void): () => void {
    listener(this.leader);
    return () => undefined;
  }
  async waitForLeader(_timeoutMs: number): Promise<string> {
    return this.leader;
  }
  async stop(): Promise<void> {}
}
