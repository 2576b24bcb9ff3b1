/**
 * Entry point of the built-in command executor. The slave spawns it as
 * `node dist/slave/executor/command-executor-main.js` with the `MESOS_*` environment; it logs
 * JSON lines to stdout (the executor sandbox's `stdout` file) at `AGORA_EXECUTOR_LOG_LEVEL`
 * (default info) and exits 0 after SHUTDOWN, 1 after the recovery timeout or on a bad
 * environment.
 *
 * @module
 */
import { pino } from 'pino';
import { ExecutorDriver } from '../../sdk/executor/driver.js';
import { executorConfigFromEnv, type ExecutorConfig } from '../../sdk/executor/options.js';
import { CommandExecutor } from './command-executor.js';

async function main(): Promise<number> {
  const env = process.env;
  // Asynchronous writes: a synchronous write per log line was a tenth of the executor's CPU
  // per task under load; lines written while one write is in flight go out together.
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = pino({ name: 'command-executor', level: env.AGORA_EXECUTOR_LOG_LEVEL ?? 'info' }, destination);
  process.on('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // nothing buffered, or stdout already gone
    }
  });
  let config: ExecutorConfig;
  try {
    config = executorConfigFromEnv(env);
  } catch (err) {
    logger.fatal({ err }, (err as Error).message);
    return 1;
  }
  logger.info({ executorId: config.executorId, frameworkId: config.frameworkId, agent: config.agentEndpoint }, 'command executor starting');
  const driver = new ExecutorDriver({ config, logger });
  const executor = new CommandExecutor({ driver, env, logger });
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'signal received; shutting down');
    void executor.shutdown(`signal ${signal}`, 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Tasks run in their own process groups; never leave them behind.
  process.on('exit', () => executor.killAllNow());
  return executor.run();
}

main().then(
  (code) => {
    process.exitCode = code;
    // Anything still open (a half-closed socket) must not keep a finished executor alive.
    setTimeout(() => process.exit(code), 1_000).unref();
  },
  (err: unknown) => {
    console.error('command executor failed:', err);
    process.exit(1);
  },
);
