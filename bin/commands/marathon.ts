/**
 * `agora marathon`: runs Marathon (the long-running apps framework with the Marathon v2
 * REST API) until SIGINT/SIGTERM, which stop it without killing its tasks.
 *
 * @module
 */
import { Command, Option } from 'commander';
import { die, durationOption, exitOnSignal, intOption, masterAddressOption, portOption } from '../cli-support.js';

interface MarathonFlags {
  master: string;
  port: number;
  workDir: string;
  hostname?: string;
  bind?: string;
  frameworkName: string;
  failoverTimeout: number;
  reconciliationInterval?: number;
  declineOfferDuration?: number;
  exitWithParent?: boolean;
}

export function marathonCommand(): Command {
  return new Command('marathon')
    .description('run Marathon: keeps apps running on the cluster, behind the Marathon v2 REST API')
    .requiredOption('--master <host:port>', 'the master', masterAddressOption)
    .addOption(new Option('--port <port>', 'HTTP port (0: the OS picks one)').default(8080).argParser(portOption))
    .requiredOption('--work-dir <dir>', 'directory for Marathon\'s state (apps, versions, deployments, instances, framework id)')
    .option('--hostname <host>', 'hostname advertised in /v2/info and to the master (default: this host\'s name)')
    .option('--bind <addr>', 'address to listen on, e.g. 127.0.0.1 or 0.0.0.0 (default: all interfaces)')
    .option('--framework-name <name>', 'framework name', 'marathon')
    .addOption(new Option('--failover-timeout <seconds>', 'seconds the master keeps the tasks while Marathon is away').default(604800).argParser(intOption(0)))
    .option('--reconciliation-interval <dur>', 'how often tasks are reconciled with the master (default 10mins)', durationOption)
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
          ...(flags.bind !== undefined ? { host: flags.bind } : {}),
          ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
          ...(flags.reconciliationInterval !== undefined ? { reconciliationIntervalMs: flags.reconciliationInterval } : {}),
          ...(flags.declineOfferDuration !== undefined ? { declineRefuseSeconds: Math.round(flags.declineOfferDuration / 1000) } : {}),
        });
      } catch (err) {
        die(`marathon failed to start: ${(err as Error).message}`);
      }
      exitOnSignal(() => marathon.close(), { log: (msg) => logger.info(msg), exitWithParent: flags.exitWithParent === true });
    });
}
