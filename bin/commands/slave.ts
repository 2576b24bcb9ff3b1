/**
 * `agora slave`: runs a slave (agent) process until SIGINT/SIGTERM; with `--emulate N`, N
 * emulated slaves (simulated tasks) in this one process.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { die, durationOption, exitOnSignal, intOption, masterOrZkOption, portOption } from '../cli-support.js';
import { parseSimDuration, parseSimExitCode, parseSimFailureRate } from '../../slave/sim/task-plan.js';

/** commander parser wrapping one of the simulated-task parsers. */
function simOption<T>(parse: (text: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

interface SlaveFlags {
  master: string;
  port: number;
  workDir?: string;
  exitWithParent?: boolean;
  containerizer?: 'posix' | 'simulated';
  simTaskDuration?: number | 'forever';
  simExitCode?: number;
  simFailureRate?: number;
  simStartDelay?: number;
  simSeed?: number;
  emulate?: number;
  emulateSpread?: number;
  resources?: string;
  attributes?: string;
  hostname?: string;
  ip?: string;
  bind?: string;
  cleanupOnExit?: boolean;
  recoveryTimeout?: number;
  zkSessionTimeout?: number;
  executorShutdownGrace?: number;
  executorRegistrationTimeout?: number;
  executorIdleTimeout?: number;
  statusUpdateRetryIntervalMin?: number;
  statusUpdateRetryIntervalMax?: number;
  executorReregistrationTimeout?: number;
  recover: 'reconnect' | 'cleanup';
}

export function slaveCommand(): Command {
  return new Command('slave')
    .alias('agent')
    .description('run a slave (agent): offers this host\'s resources to the master and runs tasks through executors')
    .requiredOption('--master <host:port|zk://host:port/path>', 'the master to register with, or the ZooKeeper URL where the masters elect a leader (followed on failover)', masterOrZkOption)
    .addOption(new Option('--port <port>', 'HTTP port, also used by executors (0: the OS picks one)').default(5051).argParser(portOption))
    .option('--work-dir <dir>', 'directory for sandboxes and the slave\'s state (required, except with --emulate)')
    .option('--resources <spec>', 'resources to offer, e.g. "cpus:4;mem:4096;disk:10000;ports:[31000-32000]" (default: detected from the host)')
    .option('--attributes <spec>', 'attributes, e.g. "rack:r1;zone:a"')
    .option('--hostname <host>', 'hostname advertised in offers (default: this host\'s name); with --emulate, the prefix of <prefix>-<i> (default emu)')
    .option('--ip <ip>', 'IP address advertised to the master and executors (default: the bind address, or this host\'s first IPv4)')
    .option('--bind <addr>', 'address to listen on (default: all interfaces)')
    .option('--cleanup-on-exit', 'kill every executor and task when the slave stops (default: tasks outlive the slave)')
    .option('--zk-session-timeout <dur>', 'with a zk:// master: the ZooKeeper session timeout (default 10secs)', durationOption)
    .option('--recovery-timeout <dur>', 'how long executors wait for a restarted slave before killing their tasks (Mesos: 15mins)', durationOption)
    .option('--executor-shutdown-grace <dur>', 'how long an executor may take to shut down (Mesos: 5secs)', durationOption)
    .option('--executor-registration-timeout <dur>', 'how long a launched executor has to subscribe before it is killed and its tasks fail (Mesos: 1mins)', durationOption)
    .option('--executor-idle-timeout <dur>', 'how long an idle built-in executor is kept for the next task of its framework before it is shut down; 0secs shuts it down at once (default 1secs)', durationOption)
    .option('--status-update-retry-interval-min <dur>', 'first retry interval of an unacknowledged status update, doubling to the max (default 10secs)', durationOption)
    .option('--status-update-retry-interval-max <dur>', 'cap of the status update retry interval (default 10mins)', durationOption)
    .option('--executor-reregistration-timeout <dur>', 'after a restart, how long the executors of the previous run have to re-subscribe before they are killed and their tasks lost (default 5secs)', durationOption)
    .addOption(new Option('--recover <mode>', 'reconnect: re-attach to the executors of the previous run (same agent id); cleanup: kill them and start as a new agent').choices(['reconnect', 'cleanup']).default('reconnect'))
    .addOption(new Option('--containerizer <kind>', 'posix: run executors as processes; simulated: run nothing, tasks follow their agora.sim.* labels (docs/slave.md)').choices(['posix', 'simulated']))
    .option('--sim-task-duration <dur>', 'simulated tasks: time from TASK_RUNNING to the end when the task has no agora.sim.duration label, or "forever" (default forever)', simOption(parseSimDuration))
    .option('--sim-exit-code <n>', 'simulated tasks: exit code when unlabelled; 0 → TASK_FINISHED, else TASK_FAILED (default 0)', simOption(parseSimExitCode))
    .option('--sim-failure-rate <p>', 'simulated tasks: chance 0..1 that a task fails at start (default 0)', simOption(parseSimFailureRate))
    .option('--sim-start-delay <dur>', 'simulated tasks: time from launch to TASK_RUNNING (default 0ms)', durationOption)
    .option('--sim-seed <n>', 'simulated tasks: seed of the failure draws, for reproducible runs', intOption(Number.MIN_SAFE_INTEGER))
    .option('--emulate <n>', 'run N emulated slaves in this process (simulated containerizer, no sandboxes, no checkpoint); --port serves GET /state for all of them', intOption(1))
    .option('--emulate-spread <dur>', 'with --emulate: start the slaves evenly over this time (default N × 2ms, at most 30s)', durationOption)
    .addOption(new Option('--exit-with-parent', 'stop when stdin closes (used by agora local)').hideHelp())
    .action(async (flags: SlaveFlags) => {
      const sim = {
        ...(flags.simTaskDuration !== undefined ? { durationMs: flags.simTaskDuration } : {}),
        ...(flags.simExitCode !== undefined ? { exitCode: flags.simExitCode } : {}),
        ...(flags.simFailureRate !== undefined ? { failureRate: flags.simFailureRate } : {}),
        ...(flags.simStartDelay !== undefined ? { startDelayMs: flags.simStartDelay } : {}),
        ...(flags.simSeed !== undefined ? { seed: flags.simSeed } : {}),
      };
      if (flags.emulate !== undefined) {
        await emulate(flags, sim);
        return;
      }
      if (flags.emulateSpread !== undefined) die('--emulate-spread needs --emulate N');
      if (flags.workDir === undefined) die('--work-dir is required (except with --emulate)');
      // The executors take AGORA_TASK_LAUNCHER from this environment: a bad value would fail
      // every command task, so it fails the slave's start instead (as a bad flag does).
      const { taskLauncherKind } = await import('../../slave/executor/task-launcher.js');
      try {
        taskLauncherKind(process.env.AGORA_TASK_LAUNCHER, true);
      } catch (err) {
        die((err as Error).message);
      }
      // Loaded here so that the other subcommands do not pay for the slave.
      const { startSlave } = await import('../../slave/main.js');
      const { createLogger } = await import('../../sdk/core/log.js');
      const logger = createLogger('slave');
      let slave: Awaited<ReturnType<typeof startSlave>>;
      try {
        slave = await startSlave({
          master: flags.master,
          port: flags.port,
          host: flags.bind,
          hostname: flags.hostname,
          advertiseIp: flags.ip,
          workDir: flags.workDir ?? '',
          resources: flags.resources,
          attributes: flags.attributes,
          cleanupOnExit: flags.cleanupOnExit ?? false,
          recoveryTimeoutMs: flags.recoveryTimeout,
          zkSessionTimeoutMs: flags.zkSessionTimeout,
          executorShutdownGraceMs: flags.executorShutdownGrace,
          executorRegistrationTimeoutMs: flags.executorRegistrationTimeout,
          executorIdleTimeoutMs: flags.executorIdleTimeout,
          statusUpdateRetryMs: flags.statusUpdateRetryIntervalMin,
          statusUpdateMaxRetryMs: flags.statusUpdateRetryIntervalMax,
          executorReregistrationTimeoutMs: flags.executorReregistrationTimeout,
          recover: flags.recover,
          ...(flags.containerizer !== undefined ? { containerizer: flags.containerizer } : {}),
          sim,
          logger,
        });
      } catch (err) {
        die(`slave failed to start: ${(err as Error).message}`);
      }
      exitOnSignal(() => slave.close(), { log: (msg) => logger.info(msg), exitWithParent: flags.exitWithParent === true });
    });
}

/** `--emulate N`: N emulated slaves in this process until SIGINT/SIGTERM. */
async function emulate(flags: SlaveFlags, sim: Record<string, number | 'forever'>): Promise<void> {
  if (flags.containerizer === 'posix') die('--emulate runs simulated slaves: it cannot be combined with --containerizer posix');
  const { startEmulator } = await import('../../slave/sim/emulator.js');
  const { createLogger } = await import('../../sdk/core/log.js');
  const logger = createLogger('slave-emulator');
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator({
      master: flags.master,
      count: flags.emulate!,
      ...(flags.hostname !== undefined ? { hostnamePrefix: flags.hostname } : {}),
      ...(flags.resources !== undefined ? { resources: flags.resources } : {}),
      ...(flags.attributes !== undefined ? { attributes: flags.attributes } : {}),
      ...(flags.emulateSpread !== undefined ? { spreadMs: flags.emulateSpread } : {}),
      sim,
      port: flags.port,
      ...(flags.bind !== undefined ? { host: flags.bind } : {}),
      ...(flags.statusUpdateRetryIntervalMin !== undefined ? { statusUpdateRetryMs: flags.statusUpdateRetryIntervalMin } : {}),
      ...(flags.statusUpdateRetryIntervalMax !== undefined ? { statusUpdateMaxRetryMs: flags.statusUpdateRetryIntervalMax } : {}),
      ...(flags.zkSessionTimeout !== undefined ? { zkSessionTimeoutMs: flags.zkSessionTimeout } : {}),
      logger,
    });
  } catch (err) {
    die(`emulated slaves failed to start: ${(err as Error).message}`);
  }
  exitOnSignal(() => emulator.close(), { log: (msg) => logger.info(msg), exitWithParent: flags.exitWithParent === true });
}
