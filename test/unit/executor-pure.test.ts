/**
 * Pure parts of the executor SDK and the command executor: Mesos durations, the executor
 * environment, backoff, task environment, exit status.
 */
import t from 'tap';
import { subscriptionBackoffMs } from '../../sdk/executor/backoff.js';
import { formatMesosDuration, nanosecondsToMs, parseMesosDuration } from '../../sdk/executor/duration.js';
import { EXECUTOR_CONFIG_DEFAULTS, executorConfigFromEnv } from '../../sdk/executor/options.js';
import type { TaskInfo } from '../../sdk/protocol/mesos.js';
import { describeEnding, terminalOutcome } from '../../slave/executor/exit-status.js';
import { MAX_TASK_PORTS, buildTaskEnv, taskEnvBase, taskPorts } from '../../slave/executor/task-env.js';

t.test('parseMesosDuration', async (t) => {
  t.equal(parseMesosDuration('15mins'), 900_000);
  t.equal(parseMesosDuration('2secs'), 2_000);
  t.equal(parseMesosDuration('900secs'), 900_000);
  t.equal(parseMesosDuration('100ms'), 100);
  t.equal(parseMesosDuration('1hrs'), 3_600_000);
  t.equal(parseMesosDuration('1days'), 86_400_000);
  t.equal(parseMesosDuration('2weeks'), 1_209_600_000);
  t.equal(parseMesosDuration('5ns'), 5e-6);
  t.equal(parseMesosDuration('10us'), 0.01);
  t.equal(parseMesosDuration('1.5secs'), 1_500);
  t.equal(parseMesosDuration('0secs'), 0);
  for (const bad of ['', '15', 'secs', '15 minutes', '-1secs', '1s', '1sec', '1e3ms', 'NaNsecs', '1.2.3secs']) {
    t.throws(() => parseMesosDuration(bad), { code: 'AGORA_INVALID_DURATION' }, JSON.stringify(bad));
  }
});

t.test('formatMesosDuration round-trips', async (t) => {
  t.equal(formatMesosDuration(900_000), '15mins');
  t.equal(formatMesosDuration(2_000), '2secs');
  t.equal(formatMesosDuration(1_500), '1500ms');
  t.equal(formatMesosDuration(0), '0secs');
  t.equal(formatMesosDuration(0.01), '10us');
  for (const ms of [1, 999, 60_000, 86_400_000, 604_800_000, 0.000005, 3_600_001]) {
    t.equal(parseMesosDuration(formatMesosDuration(ms)), ms, `${ms}`);
  }
  t.throws(() => formatMesosDuration(-1), { code: 'AGORA_INVALID_DURATION' });
  t.equal(nanosecondsToMs(3e9), 3_000);
});

t.test('executorConfigFromEnv', async (t) => {
  const env = {
    MESOS_FRAMEWORK_ID: 'fw', MESOS_EXECUTOR_ID: 'ex', MESOS_AGENT_ID: 'ag', MESOS_AGENT_ENDPOINT: '127.0.0.1:5051',
    MESOS_SANDBOX: '/sb', MESOS_CHECKPOINT: '1', MESOS_RECOVERY_TIMEOUT: '900secs', MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
  };
  t.same(executorConfigFromEnv(env), {
    frameworkId: 'fw', executorId: 'ex', agentId: 'ag', agentEndpoint: '127.0.0.1:5051', sandboxDir: '/sb', checkpoint: true,
    recoveryTimeoutMs: 900_000, subscriptionBackoffMaxMs: 2_000, shutdownGracePeriodMs: 5_000,
  });
  const minimal = executorConfigFromEnv({
    MESOS_FRAMEWORK_ID: 'fw', MESOS_EXECUTOR_ID: 'ex', MESOS_SLAVE_ID: 'old', MESOS_AGENT_ENDPOINT: 'host:1', MESOS_DIRECTORY: '/d',
  });
  t.equal(minimal.agentId, 'old');
  t.equal(minimal.sandboxDir, '/d');
  t.equal(minimal.checkpoint, false);
  t.equal(minimal.recoveryTimeoutMs, EXECUTOR_CONFIG_DEFAULTS.recoveryTimeoutMs);
  t.throws(() => executorConfigFromEnv({}), {
    code: 'AGORA_EXECUTOR_CONFIG',
    message: /MESOS_FRAMEWORK_ID is not set.*MESOS_EXECUTOR_ID is not set.*MESOS_AGENT_ENDPOINT is not set.*MESOS_SANDBOX/,
  });
  t.throws(() => executorConfigFromEnv({ ...env, MESOS_AGENT_ENDPOINT: 'http://x:1/' }), { message: /host:port/ });
  t.throws(() => executorConfigFromEnv({ ...env, MESOS_RECOVERY_TIMEOUT: '15' }), { message: /MESOS_RECOVERY_TIMEOUT: invalid Mesos duration/ });
});

t.test('subscriptionBackoffMs grows to the maximum and jitters below it', async (t) => {
  t.equal(subscriptionBackoffMs(0, 2_000, () => 0.999), 99);
  t.equal(subscriptionBackoffMs(1, 2_000, () => 0.5), 100);
  t.equal(subscriptionBackoffMs(20, 2_000, () => 0.5), 1_000);
  t.equal(subscriptionBackoffMs(1_000, 2_000, () => 1), 2_000, 'never above the maximum');
  t.equal(subscriptionBackoffMs(5, 2_000, () => 0), 0);
  t.equal(subscriptionBackoffMs(5, 0, () => 0.7), 0);
});

const task = (extra: Partial<TaskInfo> = {}): TaskInfo => ({
  name: 't', task_id: { value: 'task-1' }, agent_id: { value: 'ag' }, command: { value: 'true' }, ...extra,
});

t.test('taskPorts and buildTaskEnv', async (t) => {
  t.same(taskPorts(undefined), []);
  t.same(taskPorts([
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31010, end: 31011 }, { begin: 31000, end: 31000 }] } },
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 30000, end: 30000 }] } },
  ]), [30000, 31000, 31010, 31011]);
  t.throws(() => taskPorts([{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 5, end: 4 }] } }]), { code: 'AGORA_TASK_INVALID' });
  t.throws(() => taskPorts([{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: MAX_TASK_PORTS + 1 }] } }]), { code: 'AGORA_TASK_INVALID' });

  const base = taskEnvBase({ PATH: '/bin', MESOS_SANDBOX: '/executor', AGORA_EXECUTOR_LOG_LEVEL: 'debug', AGORA_TASK_LAUNCHER: 'perl', MESOS_HTTP_COMMAND_EXECUTOR: '1', PORT0: 'stale', UNSET: undefined });
  t.same(base, { PATH: '/bin', MESOS_SANDBOX: '/executor', PORT0: 'stale' }, 'the base drops executor-only and unset variables');
  const env = buildTaskEnv({
    base,
    task: task({
      resources: [{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 8081, end: 8081 }, { begin: 8080, end: 8080 }] } }],
      command: {
        value: 'true',
        environment: { variables: [{ name: 'PORT1', value: 'overridden' }, { name: 'SECRET', type: 'SECRET' }, { name: 'A', value: 'b' }] },
      },
    }),
    sandboxDir: '/executor/tasks/task-1',
    frameworkId: 'fw',
    agentId: 'ag',
    hostname: 'host-a',
  });
  t.same(env, {
    PATH: '/bin',
    MESOS_SANDBOX: '/executor/tasks/task-1',
    MESOS_DIRECTORY: '/executor/tasks/task-1',
    MESOS_TASK_ID: 'task-1',
    MESOS_FRAMEWORK_ID: 'fw',
    MESOS_AGENT_ID: 'ag',
    MESOS_SLAVE_ID: 'ag',
    HOST: 'host-a',
    PORT0: '8080',
    PORT1: 'overridden',
    PORT: '8080',
    PORTS: '8080,8081',
    A: 'b',
  });
  t.same(base, { PATH: '/bin', MESOS_SANDBOX: '/executor', PORT0: 'stale' }, 'building a task environment leaves the base as it was');
  const noPorts = buildTaskEnv({ base: taskEnvBase({}), task: task(), sandboxDir: '/s', frameworkId: 'fw', agentId: '', hostname: '' });
  t.notOk('PORTS' in noPorts);
  t.notOk('MESOS_AGENT_ID' in noPorts);
});

t.test('terminalOutcome uses Mesos wording', async (t) => {
  t.same(terminalOutcome({ code: 0, signal: null, killed: false }), { state: 'TASK_FINISHED', message: 'Command exited with status 0' });
  t.same(terminalOutcome({ code: 3, signal: null, killed: false }), { state: 'TASK_FAILED', message: 'Command exited with status 3' });
  t.same(terminalOutcome({ code: null, signal: 'SIGSEGV', killed: false }), { state: 'TASK_FAILED', message: 'Command terminated with signal SIGSEGV' });
  t.same(terminalOutcome({ code: null, signal: 'SIGTERM', killed: true }), { state: 'TASK_KILLED', message: 'Command terminated with signal SIGTERM' });
  t.same(terminalOutcome({ code: 0, signal: null, killed: true }), { state: 'TASK_KILLED', message: 'Command exited with status 0' });
  t.equal(describeEnding(null, null), 'Command exited with status unknown');
});
