/**
 * The slave's pure helpers: option compilation, executor environment, /state resource
 * objects, mode strings, /proc parsing.
 */
import t from 'tap';
import { compileSlaveOptions, isLoopbackHost, mesosDuration, parseMasterAddress } from '../../slave/options.js';
import { executorEnvironment } from '../../slave/executor-env.js';
import { attributesObject, resourcesObject } from '../../slave/state-json.js';
import { modeString } from '../../slave/files.js';
import { parseProcStat } from '../../slave/process-tree.js';
import { isSafePathSegment } from '../../slave/paths.js';
import { parseAttributes, parseResources } from '../../sdk/resources/index.js';

t.test('options', async (t) => {
  t.same(parseMasterAddress('10.0.0.1:5050'), { host: '10.0.0.1', port: 5050 });
  t.same(parseMasterAddress('http://m1:5051'), { host: 'm1', port: 5051 });
  t.same(parseMasterAddress('ws://[::1]:6000'), { host: '::1', port: 6000 });
  t.same(parseMasterAddress('m1'), { host: 'm1', port: 5050 });
  t.throws(() => parseMasterAddress('zk://h:2181/agora'), { code: 'AGORA_SLAVE_OPTIONS_INVALID' }, 'zk:// is no address (compileSlaveOptions takes it)');
  t.throws(() => parseMasterAddress('ftp://h:1'), { code: 'AGORA_SLAVE_OPTIONS_INVALID' });
  t.ok(isLoopbackHost('127.0.0.1'));
  t.ok(isLoopbackHost('localhost'));
  t.notOk(isLoopbackHost('10.1.1.1'));
  const c = compileSlaveOptions({ master: '127.0.0.1:5050', port: 0, workDir: 'rel/dir', resources: 'cpus:1;mem:64' });
  t.equal(c.masterUrl, 'ws://127.0.0.1:5050/api/v1/agent');
  t.equal(c.advertiseIp, '127.0.0.1');
  t.equal(c.hostname, '127.0.0.1');
  t.ok(c.workDir.startsWith('/'));
  t.equal(c.statusUpdateRetryMs, 10_000);
  t.equal(c.statusUpdateMaxRetryMs, 600_000);
  t.equal(c.recoveryTimeoutMs, 900_000);
  t.equal(c.zkSessionTimeoutMs, 10_000);
  t.equal(c.cleanupOnExit, false);
  t.equal(compileSlaveOptions({ master: 'zk://h:2181/agora', port: 0, workDir: '/x', resources: 'cpus:1', zkSessionTimeoutMs: 4000 }).zkSessionTimeoutMs, 4000);
  t.throws(() => compileSlaveOptions({ master: 'zk://h:2181/agora', port: 0, workDir: '/x', resources: 'cpus:1', zkSessionTimeoutMs: 0 }), { code: 'AGORA_SLAVE_OPTIONS_INVALID' });
  t.throws(() => compileSlaveOptions({ master: 'm:1', port: 70000, workDir: '/x' }), { code: 'AGORA_SLAVE_OPTIONS_INVALID' });
  t.throws(() => compileSlaveOptions({ master: 'm:1', port: 0, workDir: '' }), { code: 'AGORA_SLAVE_OPTIONS_INVALID' });
  t.throws(() => compileSlaveOptions({ master: 'm:1', port: 0, workDir: '/x', statusUpdateRetryMs: -1, resources: 'cpus:1' }), { code: 'AGORA_SLAVE_OPTIONS_INVALID' });
  t.throws(() => compileSlaveOptions({ master: 'm:1', port: 0, workDir: '/x', resources: 'cpus:lots' }), { code: 'AGORA_RESOURCES_INVALID' });
  const detected = compileSlaveOptions({ master: 'm:1', port: 0, workDir: '/tmp' });
  t.ok(detected.resources.some((r) => r.name === 'cpus'), 'resources detected when absent');
  t.equal(mesosDuration(900_000), '900secs');
  t.equal(mesosDuration(1500), '1500ms');
});

t.test('executor environment', async (t) => {
  const env = executorEnvironment({
    base: { PATH: '/bin', HOME: '/root', MESOS_OLD: 'x', AGORA_LOG_LEVEL: 'debug', AGORA_TASK_LAUNCHER: 'perl' },
    frameworkId: 'f', executorId: 'e', agentId: 'S0', agentEndpoint: '127.0.0.1:5051', directory: '/sb',
    checkpoint: true, recoveryTimeoutMs: 900_000, shutdownGraceMs: 5000, commandExecutor: true, logLevel: 'info',
    command: { environment: { variables: [{ name: 'FOO', value: 'bar' }, { name: 'S', type: 'SECRET' }] } },
  });
  t.match(env, {
    PATH: '/bin', HOME: '/root', MESOS_FRAMEWORK_ID: 'f', MESOS_EXECUTOR_ID: 'e', MESOS_SLAVE_ID: 'S0', MESOS_AGENT_ID: 'S0',
    MESOS_AGENT_ENDPOINT: '127.0.0.1:5051', MESOS_DIRECTORY: '/sb', MESOS_SANDBOX: '/sb', MESOS_CHECKPOINT: '1',
    MESOS_RECOVERY_TIMEOUT: '900secs', MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs', MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
    MESOS_HTTP_COMMAND_EXECUTOR: '1', MESOS_SLAVE_PID: 'slave(1)@127.0.0.1:5051', AGORA_EXECUTOR_LOG_LEVEL: 'info', FOO: 'bar',
    AGORA_TASK_LAUNCHER: 'perl', // the operator's choice of task launcher reaches the executors
  });
  t.notOk('MESOS_OLD' in env);
  t.notOk('AGORA_LOG_LEVEL' in env);
  t.notOk('S' in env);
});

t.test('/state resource and attribute objects', async (t) => {
  t.same(resourcesObject(parseResources('cpus:2;mem:1024;ports:[31000-31005,31010-31020];cpus(web):0.5;zones:{b,a}')), {
    cpus: 2.5, disk: 0, gpus: 0, mem: 1024, ports: '[31000-31005, 31010-31020]', zones: '{a, b}',
  });
  t.same(attributesObject(parseAttributes('rack:r1;level:3;p:[1-2]')), { rack: 'r1', level: 3, p: '[1-2]' });
});

t.test('mode strings, /proc parsing, path segments', async (t) => {
  t.equal(modeString(0o100644), '-rw-r--r--');
  t.equal(modeString(0o040755), 'drwxr-xr-x');
  t.equal(modeString(0o120777), 'lrwxrwxrwx');
  t.equal(modeString(0o104755), '-rwsr-xr-x');
  t.equal(modeString(0o041777), 'drwxrwxrwt');
  const stat = '1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000000 300 18446744073709551615';
  t.same(parseProcStat(stat), { pid: 1234, ppid: 1, pgid: 1234, utimeSecs: 2.5, stimeSecs: 0.5, rssBytes: 300 * 4096 });
  t.equal(parseProcStat('garbage'), undefined);
  t.ok(isSafePathSegment('fw-1'));
  for (const bad of ['', '.', '..', 'a/b', 'a\0b']) t.notOk(isSafePathSegment(bad), JSON.stringify(bad));
});
