/**
 * Bad simulated-containerizer and emulator options are refused with
 * AGORA_SLAVE_OPTIONS_INVALID (or the resource parser's code) before anything starts.
 */
import t from 'tap';
import { silentLogger } from '../../sdk/core/log.js';
import { compileSlaveOptions, type SlaveOptions } from '../../slave/options.js';
import { startEmulator, type EmulatorOptions } from '../../slave/sim/emulator.js';

const base: SlaveOptions = { master: '127.0.0.1:5050', port: 0, workDir: '/tmp/agora-sim-options', resources: 'cpus:1;mem:128' };

t.test('slave options: containerizer and sim defaults', async (t) => {
  const ok = compileSlaveOptions({ ...base, containerizer: 'simulated', sim: { durationMs: 500, exitCode: 2, failureRate: 0.1, startDelayMs: 5, seed: -3 } });
  t.equal(ok.containerizer, 'simulated');
  t.same(ok.sim, { durationMs: 500, exitCode: 2, failureRate: 0.1, startDelayMs: 5 });
  t.equal(ok.simSeed, -3);
  const plain = compileSlaveOptions(base);
  t.equal(plain.containerizer, 'posix', 'posix by default');
  t.same(plain.sim, { durationMs: 'forever', exitCode: 0, failureRate: 0, startDelayMs: 0 });
  t.equal(plain.simSeed, undefined);
  const bad: Array<[Partial<SlaveOptions>, RegExp]> = [
    [{ containerizer: 'docker' as never }, /containerizer must be posix or simulated/],
    [{ sim: { durationMs: -1 } }, /sim task duration/],
    [{ sim: { durationMs: Number.NaN } }, /sim task duration/],
    [{ sim: { exitCode: 256 } }, /sim exit code/],
    [{ sim: { exitCode: 1.5 } }, /sim exit code/],
    [{ sim: { failureRate: 1.01 } }, /sim failure rate/],
    [{ sim: { failureRate: Number.NaN } }, /sim failure rate/],
    [{ sim: { startDelayMs: -5 } }, /sim start delay/],
    [{ sim: { seed: 0.5 } }, /sim seed/],
  ];
  for (const [o, re] of bad) {
    t.throws(() => compileSlaveOptions({ ...base, ...o }), { code: 'AGORA_SLAVE_OPTIONS_INVALID', message: re }, JSON.stringify(o));
  }
});

t.test('emulator options: refused before any detector, server or agent starts', async (t) => {
  const e: EmulatorOptions = { master: '127.0.0.1:1', count: 2, logger: silentLogger() };
  const bad: Array<[Partial<EmulatorOptions>, string, RegExp]> = [
    [{ count: 0 }, 'AGORA_SLAVE_OPTIONS_INVALID', /emulate must be an integer 1\.\.100000/],
    [{ count: 2.5 }, 'AGORA_SLAVE_OPTIONS_INVALID', /emulate must be/],
    [{ count: 100_001 }, 'AGORA_SLAVE_OPTIONS_INVALID', /emulate must be/],
    [{ spreadMs: -1 }, 'AGORA_SLAVE_OPTIONS_INVALID', /spread/],
    [{ hostnamePrefix: 'bad prefix' }, 'AGORA_SLAVE_OPTIONS_INVALID', /hostname prefix/],
    [{ port: 70_000 }, 'AGORA_SLAVE_OPTIONS_INVALID', /port/],
    [{ master: 'zk://' }, 'AGORA_SLAVE_OPTIONS_INVALID', /zk/],
    [{ master: 'ftp://x:1' }, 'AGORA_SLAVE_OPTIONS_INVALID', /unsupported scheme/],
    [{ sim: { failureRate: 3 } }, 'AGORA_SLAVE_OPTIONS_INVALID', /failure rate/],
    [{ sim: { seed: 1.5 } }, 'AGORA_SLAVE_OPTIONS_INVALID', /seed/],
    [{ resources: 'cpus:lots' }, 'AGORA_RESOURCES_INVALID', /cpus/],
  ];
  for (const [o, code, re] of bad) {
    await t.rejects(startEmulator({ ...e, ...o }), { code, message: re }, JSON.stringify(o));
  }
});
