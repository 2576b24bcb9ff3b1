/**
 * `agora master`: runs a master process until SIGINT/SIGTERM.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from 'commander';
// Small and dependency-free (the rest of the master is loaded lazily in the action).
import { parseRemovalRateLimit } from '../../master/removal-rate-limit.js';
import { die, durationOption, exitOnSignal, intOption, portOption } from '../cli-support.js';

interface MasterFlags {
  port: number;
  workDir: string;
  exitWithParent?: boolean;
  hostname?: string;
  ip?: string;
  bind?: string;
  agentPingTimeout?: number;
  maxAgentPingTimeouts?: number;
  offerTimeout?: number;
  minDeclineRefuse?: number;
  zk?: string;
  zkSessionTimeout?: number;
  agentReregisterTimeout?: number;
  agentRemovalRateLimit?: string;
  registryMaxAgentAge?: number;
  registryMaxAgentCount?: number;
  registryGcInterval?: number;
}

/** commander parser: `<N>/<duration>`, checked while parsing so a typo fails at once with the reason. */
function rateOption(value: string): string {
  try {
    parseRemovalRateLimit(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

export function masterCommand(): Command {
  return new Command('master')
    .description('run a master: gathers the slaves\' resources and offers them to frameworks (Mesos v1 scheduler API)')
    .addOption(new Option('--port <port>', 'HTTP port (0: the OS picks one)').default(5050).argParser(portOption))
    .requiredOption('--work-dir <dir>', 'directory for the master\'s state')
    .option('--hostname <host>', 'hostname advertised to slaves and frameworks (default: this host\'s name)')
    .option('--ip <ip>', 'IP address advertised to slaves and frameworks (default: the bind address, or this host\'s first IPv4)')
    .option('--bind <addr>', 'address to listen on (default: all interfaces)')
    .option('--agent-ping-timeout <dur>', 'how long a slave may leave a ping unanswered (Mesos: 15secs)', durationOption)
    .option('--max-agent-ping-timeouts <n>', 'missed pings before a slave is removed (Mesos: 5)', intOption(1))
    .option('--offer-timeout <dur>', 'rescind offers not used within this duration (default: never)', durationOption)
    .option('--min-decline-refuse <dur>', 'declined resources stay away from the declining framework at least this long, even with refuse_seconds 0 (default 1secs, as Mesos\'s allocation interval; 0secs: off)', durationOption)
    .option('--zk <url>', 'zk://[user:pass@]host:port,…/path: run highly available — elect a leader and keep the registry in ZooKeeper')
    .option('--zk-session-timeout <dur>', 'ZooKeeper session timeout (default 10secs)', durationOption)
    .option('--agent-reregister-timeout <dur>', 'after a failover, how long the new leader waits for known slaves to re-register (default 10mins)', durationOption)
    .option('--agent-removal-rate-limit <rate>', 'at most <N> slaves removed for failing health checks per <duration>, as <N>/<duration> (e.g. 1/10s or 1/10mins; default: no limit)', rateOption)
    .option('--registry-max-agent-age <dur>', 'forget unreachable slaves older than this (default 2weeks)', durationOption)
    .option('--registry-max-agent-count <n>', 'keep at most this many unreachable slaves in the registry (default and maximum 10000)', intOption(1))
    .option('--registry-gc-interval <dur>', 'how often unreachable slaves are garbage-collected from the registry (default 15mins)', durationOption)
    .addOption(new Option('--exit-with-parent', 'stop when stdin closes (used by agora local)').hideHelp())
    .action(async (flags: MasterFlags) => {
      // Loaded here so that the other subcommands do not pay for the master.
      const { startMaster } = await import('../../master/main.js');
      const { createLogger } = await import('../../sdk/core/log.js');
      const logger = createLogger('master');
      let master: Awaited<ReturnType<typeof startMaster>>;
      try {
        master = await startMaster({
          port: flags.port,
          host: flags.bind,
          hostname: flags.hostname,
          advertiseIp: flags.ip,
          workDir: flags.workDir,
          agentPingTimeoutMs: flags.agentPingTimeout,
          maxAgentPingTimeouts: flags.maxAgentPingTimeouts,
          offerTimeoutMs: flags.offerTimeout,
          minDeclineRefuseMs: flags.minDeclineRefuse,
          zk: flags.zk,
          zkSessionTimeoutMs: flags.zkSessionTimeout,
          agentReregisterTimeoutMs: flags.agentReregisterTimeout,
          agentRemovalRateLimit: flags.agentRemovalRateLimit,
          registryMaxAgentAgeMs: flags.registryMaxAgentAge,
          registryMaxAgentCount: flags.registryMaxAgentCount,
          registryGcIntervalMs: flags.registryGcInterval,
          logger,
        });
      } catch (err) {
        die(`master failed to start: ${(err as Error).message}`);
      }
      exitOnSignal(() => master.close(), { log: (msg) => logger.info(msg), exitWithParent: flags.exitWithParent === true });
    });
}
