/**
 * `agora marathon`'s reconciliation flags (Marathon's `--reconciliation_interval` and
 * `--reconciliation_initial_delay`), parsed without starting Marathon.
 */
import t from 'tap';
import { CommanderError } from 'commander';
import { marathonCommand } from '../../bin/commands/marathon.js';

function parse(args: string[]): Record<string, unknown> {
  const cmd = marathonCommand().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  cmd.parseOptions(['--master', '127.0.0.1:5050', '--work-dir', '/tmp/agora-unused', ...args]);
  return cmd.opts();
}

t.test('durations in Mesos form, in milliseconds; absent flags keep the defaults', async (t) => {
  t.match(parse(['--reconciliation-interval', '30secs', '--reconciliation-initial-delay', '2secs']), {
    reconciliationInterval: 30_000, reconciliationInitialDelay: 2000,
  });
  const none = parse([]);
  t.equal(none.reconciliationInterval, undefined, 'interval: the engine default (10 min)');
  t.equal(none.reconciliationInitialDelay, undefined, 'initial delay: the engine default (15 s)');
});

t.test('a bad duration is refused with a clear error', async (t) => {
  for (const bad of ['soon', '-1s', '15']) {
    let caught: unknown;
    try {
      parse(['--reconciliation-initial-delay', bad]);
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof CommanderError, `"${bad}" refused`);
    t.match((caught as Error).message, /--reconciliation-initial-delay/, 'the message names the flag');
  }
});
