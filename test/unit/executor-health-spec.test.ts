/**
 * Reading TaskInfo.health_check (slave/executor/health-check-spec.ts): Mesos defaults,
 * Mesos validation messages.
 */
import t from 'tap';
import { parseHealthCheck } from '../../slave/executor/health-check-spec.js';
import { TaskInfo } from '../../sdk/protocol/mesos.js';

t.test('Mesos defaults: delay 15 s, interval 10 s, timeout 20 s, 3 failures, grace 10 s', async (t) => {
  const r = parseHealthCheck({ type: 'TCP', tcp: { port: 8080 } });
  t.same(r, {
    ok: true,
    spec: { probe: { type: 'TCP', host: '127.0.0.1', port: 8080 }, delayMs: 15_000, intervalMs: 10_000, timeoutMs: 20_000, consecutiveFailures: 3, gracePeriodMs: 10_000 },
  });
});

t.test('seconds may be fractional and become milliseconds', async (t) => {
  const r = parseHealthCheck({ type: 'HTTP', http: { port: 80, path: '/health' }, delay_seconds: 0.5, interval_seconds: 0.25, timeout_seconds: 1, consecutive_failures: 0, grace_period_seconds: 0 });
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.spec, {
    probe: { type: 'HTTP', scheme: 'http', host: '127.0.0.1', port: 80, path: '/health' },
    delayMs: 500, intervalMs: 250, timeoutMs: 1_000, consecutiveFailures: 0, gracePeriodMs: 0,
  });
});

t.test('HTTP: scheme https, IPv6, no path', async (t) => {
  const r = parseHealthCheck({ type: 'HTTP', http: { scheme: 'https', port: 443, protocol: 'IPv6' } });
  t.same(r.ok && r.spec.probe, { type: 'HTTP', scheme: 'https', host: '::1', port: 443, path: '' });
});

t.test('COMMAND keeps the CommandInfo', async (t) => {
  const r = parseHealthCheck({ type: 'COMMAND', command: { value: 'exit 0', environment: { variables: [{ name: 'A', value: 'b' }] } } });
  t.same(r.ok && r.spec.probe, { type: 'COMMAND', command: { value: 'exit 0', environment: { variables: [{ name: 'A', value: 'b' }] } } });
});

t.test('a TaskInfo keeps health_check fields through the protocol schema', async (t) => {
  const task = TaskInfo.parse({ name: 'x', task_id: { value: 'x' }, agent_id: { value: 'a' }, health_check: { type: 'TCP', tcp: { port: 1 }, interval_seconds: 2 } });
  const r = parseHealthCheck(task.health_check);
  t.equal(r.ok && r.spec.intervalMs, 2_000);
});

t.test('invalid checks are refused with Mesos\'s messages', async (t) => {
  const cases: [unknown, string][] = [
    [{ tcp: { port: 1 } }, "HealthCheck must specify 'type'"],
    [{ type: 'UNKNOWN' }, "'UNKNOWN' is not a valid health check type"],
    [{ type: 'COMMAND' }, "Expecting 'command' to be set for command health check"],
    [{ type: 'COMMAND', command: { shell: true } }, "Command health check must contain 'shell command'"],
    [{ type: 'COMMAND', command: { shell: false } }, "Command health check must contain 'executable path'"],
    [{ type: 'HTTP' }, "Expecting 'http' to be set for HTTP health check"],
    [{ type: 'HTTP', http: { port: 80, scheme: 'ftp' } }, "Unsupported HTTP health check scheme: 'ftp'"],
    [{ type: 'HTTP', http: { port: 80, path: 'health' } }, "The path 'health' of HTTP health check must start with '/'"],
    [{ type: 'TCP' }, "Expecting 'tcp' to be set for TCP health check"],
  ];
  for (const [raw, error] of cases) t.same(parseHealthCheck(raw), { ok: false, error }, error);
});

t.test('malformed fields name the field', async (t) => {
  const r = parseHealthCheck({ type: 'TCP', tcp: { port: 70000 } });
  t.notOk(r.ok);
  t.match(!r.ok && r.error, /^tcp\.port: /);
  const r2 = parseHealthCheck({ type: 'TCP', tcp: { port: 1 }, interval_seconds: -1 });
  t.match(!r2.ok && r2.error, /^interval_seconds: /);
  const r3 = parseHealthCheck({ type: 'BOGUS' });
  t.match(!r3.ok && r3.error, /^type: /);
});
