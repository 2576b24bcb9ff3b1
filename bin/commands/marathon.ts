/**
 * `agora marathon`: runs Marathon (the long-running apps framework with the Marathon v2
 * REST API) until SIGINT/SIGTERM, which stop it without killing its tasks. With
 * `--zk zk://…/marathon` it runs as one of several instances: one leads, the others forward
 * the API to it; a leader that loses its leadership exits (status 1) for the operator to
 * restart it.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseZkUrl } from '../../sdk/zk/url.js';
import { die, durationOption, exitOnSignal, intOption, masterAddressOption, portOption } from '../cli-support.js';

interface MarathonFlags {
  master: string;
  zk?: string;
  zkSessionTimeout?: number;
  port: number;
  workDir: string;
  hostname?: string;
  bind?: string;
  frameworkName: string;
  failoverTimeout: number;
  reconciliationInterval?: number;
  reconciliationInitialDelay?: number;
  declineOfferDuration?: number;
  exitWithParent?: boolean;
}

/** `--master`: `host:port`, or a `zk://` URL handed to the SDK as it is. */
function marathonMasterOption(value: string): string {
  return value.startsWith('zk://') ? zkUrlOption(value) : masterAddressOption(value);
}

/** A `zk://[user:pass@]host:port[,…]/path` URL. */
function zkUrlOption(value: string): string {
  try {
    parseZkUrl(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

export function marathonCommand(): Command {
  return new Command('marathon')
    .description('run Marathon: keeps apps running on the cluster, behind the Marathon v2 REST API')
    .requiredOption('--master <host:port|zk://…>', 'the master, or zk://host:port[,…]/path to follow the elected master', marathonMasterOption)
    .option('--zk <url>', 'HA mode: zk://[user:pass@]host:port[,…]/path for leader election and state (default: standalone, state in --work-dir)', zkUrlOption)
    .option('--zk-session-timeout <dur>', 'ZooKeeper session timeout in HA mode (default 10secs)', durationOption)
    .addOption(new Option('--port <port>', 'HTTP port (0: the OS picks one)').default(8080).argParser(portOption))
    .requiredOption('--work-dir <dir>', 'directory for Marathon\'s state (apps, versions, deployments, instances, framework id)')
    .option('--hostname <host>', 'hostname advertised in /v2/info and to the master (default: this host\'s name)')
    .option('--bind <addr>', 'address to listen on, e.g. 127.0.0.1 or 0.0.0.0 (default: all interfaces)')
    .option('--framework-name <name>', 'framework name', 'marathon')
    .addOption(new Option('--failover-timeout <seconds>', 'seconds the master keeps the tasks while Marathon is away').default(604800).argParser(intOption(0)))
    .option('--reconciliation-interval <dur>', 'how often tasks are reconciled with the master (default 10mins)', durationOption)
    .option('--reconciliation-initial-delay <dur>', 'when the first periodic reconciliation runs after start (default 15secs; every subscription reconciles too)', durationOption)
    .option('--decline-offer-duration <dur>', 'how long declined offers are refused (default 120secs)', durationOption)
    .addOption(new Option('--exit-with-parent', 'stop when stdin closes (used by agora local)').hideHelp())
    .action(async (flags: MarathonFlags) => {
      const { startMarathon } = await import('../../frameworks/marathon/main.js');
      const { createLogger } = await import('../../sdk/core/log.js');
      const logger = createLogger('marathon');
      let marathon: Awaited<ReturnType<typeof startMarathon>>;
      try {
        marathon = await startMarathon({
          master: flags.master,
          port: flags.port,
          workDir: flags.workDir,
          frameworkName: flags.frameworkName,
          failoverTimeoutSeconds: flags.failoverTimeout,
          logger,
          ...(flags.zk !== undefined ? {
            zk: flags.zk,
            onLeadershipLost: (reason: string) => {
              logger.error({ reason }, 'this Marathon is no longer the leader: exiting (restart it to rejoin the election)');
              process.exit(1);
            },
          } : {}),
          ...(flags.zkSessionTimeout !== undefined ? { zkSessionTimeoutMs: flags.zkSessionTimeout } : {}),
          ...(flags.bind !== undefined ? { host: flags.bind } : {}),
          ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
          ...(flags.reconciliationInterval !== undefined ? { reconciliationIntervalMs: flags.reconciliationInterval } : {}),
          ...(flags.reconciliationInitialDelay !== undefined ? { reconciliationInitialDelayMs: flags.reconciliationInitialDelay } : {}),
          ...(flags.declineOfferDuration !== undefined ? { declineRefuseSeconds: Math.round(flags.declineOfferDuration / 1000) } : {}),
        });
      } catch (err) {
        die(`marathon failed to start: ${(err as Error).message}`);
      }
      exitOnSignal(() => marathon.close(), { log: (msg) => logger.info(msg), exitWithParent: flags.exitWithParent === true });
    });
}
