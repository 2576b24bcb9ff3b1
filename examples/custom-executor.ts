/**
 * A minimal custom executor written with Agora's executor SDK.
 *
 * A framework launches it with `ExecutorInfo.command.value = 'node <abs path>/dist/examples/custom-executor.js'`.
 * For each LAUNCHed task it prints a line (to the executor sandbox's `stdout`), prints the
 * task's `data` when there is some (base64 text), and reports TASK_RUNNING then TASK_FINISHED
 * with the message "custom executor ran <task name>". KILL reports TASK_KILLED. On SHUTDOWN
 * it waits (bounded) for its updates to be acknowledged and exits 0; if the slave stays away
 * longer than MESOS_RECOVERY_TIMEOUT it exits 1.
 *
 * @module
 */
import { createLogger } from '../sdk/core/log.js';
import { ExecutorDriver } from '../sdk/executor/index.js';
import type { TaskInfo } from '../sdk/protocol/mesos.js';

const logger = createLogger('custom-executor', { level: process.env.AGORA_EXECUTOR_LOG_LEVEL ?? 'info', pretty: false });
const driver = new ExecutorDriver({ env: process.env, logger });

async function run(task: TaskInfo): Promise<void> {
  process.stdout.write(`custom executor running task ${task.name} (${task.task_id.value})\n`);
  if (task.data !== undefined) process.stdout.write(`task data: ${Buffer.from(task.data, 'base64').toString('utf8')}\n`);
  await driver.update({ task_id: task.task_id, state: 'TASK_RUNNING' });
  await driver.update({ task_id: task.task_id, state: 'TASK_FINISHED', message: `custom executor ran ${task.name}` });
}

function exit(code: number): void {
  void driver.stop().then(() => process.exit(code));
}

driver
  .onSubscribed((info) => logger.info({ agent: info.agentInfo.hostname }, 'subscribed'))
  .onLaunch((task) => run(task))
  .onLaunchGroup(async (group) => {
    for (const task of group.tasks ?? []) await run(task);
  })
  .onKill((taskId) => driver.update({ task_id: taskId, state: 'TASK_KILLED', message: 'killed by the custom executor' }).then(() => undefined))
  .onMessage((data) => logger.info({ data: data.toString('utf8') }, 'message from the framework'))
  .onShutdown(async () => {
    await driver.waitForAcknowledgements(driver.config.shutdownGracePeriodMs / 2);
    exit(0);
  })
  .onRecoveryTimeout(() => exit(1))
  .onError((err) => logger.error({ err }, err.message));
driver.start();
