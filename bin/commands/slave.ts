/**
 * `agora slave`: runs a slave (agent) process until SIGINT/SIGTERM.
 *
 * @module
 */
import { Command, Option } from 'commander';
import { die, durationOption, exitOnSignal, masterOrZkOption, portOption } from '../cli-support.js';

interface SlaveFlags {
  master: string;
  port: number;
  workDir: string;
  exitWithParent?: boolean;
  resources?: string;
  attributes?: string;
  hostname?: string;
  ip?: string;
  bind?: string;
  cleanupOnExit?: boolean;
  recoveryTimeout?: number;
  zkSessionTimeout?: number;
  executorShutdownGrace?: number;
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
    .requiredOption('--work-dir <dir>', 'directory for sandboxes and the slave\'s state')
    .option('--resources <spec>', 'resources to offer, e.g. "cpus:4;mem:4096;disk:10000;ports:[31000-32000]" (default: detected from the host)')
    .option('--attributes <spec>', 'attributes, e.g. "rack:r1;zone:a"')
    .option('--hostname <host>', 'hostname advertised in offers (default: this host\'s name)')
    .option('--ip <ip>', 'IP address advertised to the master and executors (default: the bind address, or this host\'s first IPv4)')
    .option('--bind <addr>', 'address to listen on (default: all interfaces)')
    .option('--cleanup-on-exit', 'kill every executor and task when the slave stops (default: tasks outlive the slave)')
    .option('--zk-session-timeout <dur>', 'with a zk:// master: the ZooKeeper session timeout (default 10secs)', durationOption)
    .option('--recovery-timeout <dur>', 'how long executors wait for a restarted slave before killing their tasks (Mesos: 15mins)', durationOption)
    .option('--executor-shutdown-grace <dur>', 'how long an executor may take to shut down (Mesos: 5secs)', durationOption)
    .option('--status-update-retry-interval-min <dur>', 'first retry interval of an unacknowledged status update, doubling to the max (default 10secs)', durationOption)
    .option('--status-update-retry-interval-max <dur>', 'cap of the status update retry interval (default 10mins)', durationOption)
    .option('--executor-reregistration-timeout <dur>', 'after a restart, how long the executors of the previous run have to re-subscribe before they are killed and their tasks lost (default 5secs)', durationOption)
    .addOption(new Option('--recover <mode>', 'reconnect: re-attach to the executors of the previous run (same agent id); cleanup: kill them and start as a new agent').choices(['reconnect', 'cleanup']).default('reconnect'))
    .addOption(new Option('--exit-with-parent', 'stop when stdin closes (used by agora local)').hideHelp())
    .action(async (flags: SlaveFlags) => {
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
          workDir: flags.workDir,
          resources: flags.resources,
          attributes: flags.attributes,
          cleanupOnExit: flags.cleanupOnExit ?? false,
          recoveryTimeoutMs: flags.recoveryTimeout,
          zkSessionTimeoutMs: flags.zkSessionTimeout,
          executorShutdownGraceMs: flags.executorShutdownGrace,
          statusUpdateRetryMs: flags.statusUpdateRetryIntervalMin,
          statusUpdateMaxRetryMs: flags.statusUpdateRetryIntervalMax,
          executorReregistrationTimeoutMs: flags.executorReregistrationTimeout,
          recover: flags.recover,
          logger,
        });
      } catch (err) {
        die(`slave failed to start: ${(err as Error).message}`);
      }
      exitOnSignal(() => slave.close(), { log: (msg) => logger.info(msg), exitWithParent: flags.exitWithParent === true });
    });
}
