/**
 * The slave's composition root: the only place that uses inversify. It compiles the
 * options, chooses the implementations (clock, logger, containerizer, leader detector) and
 * starts a {@link Slave}. The leader detector is a {@link StaticDetector} for a fixed
 * `host:port` master, or a ZooKeeper detector (sdk/zk, loaded only then) for `zk://…`.
 *
 * @example
 * const slave = await startSlave({ master: '127.0.0.1:5050', port: 5051, workDir: '/var/lib/agora' });
 * console.log(slave.url, slave.agentId());
 * await slave.close();
 *
 * @module
 */
import 'reflect-metadata';
import { Container } from 'inversify';
import { systemClock, type Clock } from '../sdk/core/clock.js';
import { StaticDetector, type LeaderDetector } from '../sdk/core/leadership.js';
import { createLogger, type Logger } from '../sdk/core/log.js';
import { AgoraError } from '../sdk/core/errors.js';
import { openZkLeaderDetector } from '../sdk/scheduler/leader.js';
import { RetryingDetector } from './retrying-detector.js';
import { PosixContainerizer, type Containerizer } from './containerizer.js';
import { SandboxFiles } from './files.js';
import { MasterLink } from './master-link.js';
import { compileSlaveOptions, type SlaveConfig, type SlaveOptions } from './options.js';
import { Slave } from './slave.js';
import { TOKENS } from './tokens.js';

export type { SlaveOptions } from './options.js';

/** A running slave. */
export interface SlaveHandle {
  /** The bound HTTP port. */
  port: number;
  /** `http://<advertised ip>:<port>`. */
  url: string;
  /** The agent id the master gave, once registered. */
  agentId(): string | undefined;
  /** Disconnects and stops serving; with `cleanupOnExit` kills every executor and task. */
  close(): Promise<void>;
}

/**
 * Builds the container for one slave. A `zk://` master needs its (started) detector passed
 * in: {@link startSlave} opens it.
 *
 * @throws AgoraError `AGORA_SLAVE_OPTIONS_INVALID` for bad options, or a `zk://` master without `detector`.
 */
export function slaveContainer(o: SlaveOptions, detector?: LeaderDetector): Container {
  const container = new Container();
  const config = compileSlaveOptions(o);
  if (config.masterZk !== undefined && detector === undefined) {
    throw new AgoraError('AGORA_SLAVE_OPTIONS_INVALID', `master ${config.masterZk}: a zk:// master needs a leader detector (use startSlave)`);
  }
  container.bind<SlaveConfig>(TOKENS.Config).toConstantValue(config);
  container.bind<LeaderDetector>(TOKENS.LeaderDetector).toConstantValue(detector ?? new StaticDetector(config.masterUrl));
  container.bind<Clock>(TOKENS.Clock).toConstantValue(o.clock ?? systemClock);
  container.bind<Logger>(TOKENS.Logger).toConstantValue(o.logger ?? createLogger('agora-slave'));
  container.bind<Containerizer>(TOKENS.Containerizer).toConstantValue(new PosixContainerizer());
  container.bind<SandboxFiles>(TOKENS.SandboxFiles).toDynamicValue((ctx) => new SandboxFiles(ctx.get<SlaveConfig>(TOKENS.Config).workDir)).inSingletonScope();
  container.bind<MasterLink>(TOKENS.MasterLink).toDynamicValue((ctx) => {
    const c = ctx.get<SlaveConfig>(TOKENS.Config);
    return new MasterLink({
      detector: ctx.get<LeaderDetector>(TOKENS.LeaderDetector),
      clock: ctx.get<Clock>(TOKENS.Clock),
      logger: ctx.get<Logger>(TOKENS.Logger),
      backoffMs: c.registrationBackoffMs,
      backoffMaxMs: c.registrationBackoffMaxMs,
    });
  }).inSingletonScope();
  container.bind<Slave>(TOKENS.Slave).toDynamicValue((ctx) => new Slave({
    config: ctx.get<SlaveConfig>(TOKENS.Config),
    clock: ctx.get<Clock>(TOKENS.Clock),
    logger: ctx.get<Logger>(TOKENS.Logger),
    containerizer: ctx.get<Containerizer>(TOKENS.Containerizer),
    link: ctx.get<MasterLink>(TOKENS.MasterLink),
    files: ctx.get<SandboxFiles>(TOKENS.SandboxFiles),
  })).inSingletonScope();
  return container;
}

/**
 * Starts a slave: listens on `port` (0 = OS picks), logs `listening` with `{port, url}`,
 * connects to the master and logs `registered` with `{agent_id}` on every (re)registration.
 *
 * With a `zk://` master it first connects to ZooKeeper and starts following the masters'
 * election; when ZooKeeper cannot be reached it starts anyway (logging why) and keeps
 * trying with backoff, registering once a leader is found. `close()` also closes that session.
 *
 * @throws AgoraError `AGORA_SLAVE_OPTIONS_INVALID` / `AGORA_RESOURCES_INVALID` / `AGORA_ATTRIBUTES_INVALID` for bad options;
 *   the listen error when the port is taken.
 */
export async function startSlave(o: SlaveOptions): Promise<SlaveHandle> {
  const config = compileSlaveOptions(o);
  let zk: RetryingDetector | undefined;
  if (config.masterZk !== undefined) {
    const masterZk = config.masterZk;
    const logger = o.logger ?? createLogger('agora-slave');
    zk = new RetryingDetector({
      // An attempt gives up after a session timeout: ZooKeeper would have expired a session by then anyway.
      open: () => openZkLeaderDetector(masterZk, { logger, sessionTimeoutMs: config.zkSessionTimeoutMs, connectTimeoutMs: config.zkSessionTimeoutMs }),
      clock: o.clock ?? systemClock,
      logger,
      backoffMs: config.registrationBackoffMs,
      backoffMaxMs: config.registrationBackoffMaxMs,
    });
    await zk.start();
  }
  let slave: Slave;
  let link: MasterLink;
  try {
    const container = slaveContainer(o, zk);
    slave = container.get<Slave>(TOKENS.Slave);
    link = container.get<MasterLink>(TOKENS.MasterLink);
    await slave.start();
  } catch (err) {
    await zk?.stop();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    port: slave.port,
    url: slave.url,
    agentId: () => link.agentId(),
    close: () => {
      closing ??= (async () => {
        try {
          await slave.close();
        } finally {
          await zk?.stop();
        }
      })();
      return closing;
    },
  };
}
