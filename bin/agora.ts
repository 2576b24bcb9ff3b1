#!/usr/bin/env node
/**
 * `agora`: the one command line of Agora. Each subcommand lives in bin/commands/.
 *
 * @module
 */
import { Command } from 'commander';
import { agoraVersion } from './cli-support.js';
import { localCommand } from './commands/local.js';
import { masterCommand } from './commands/master.js';
import { runCommand } from './commands/run.js';
import { slaveCommand } from './commands/slave.js';
import { versionCommand } from './commands/version.js';

const program = new Command('agora')
  .description('Agora: a two-level resource-offer cluster manager (Mesos/Marathon compatible)')
  .version(agoraVersion(), '-V, --version', 'print Agora\'s version')
  .enablePositionalOptions()
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(masterCommand())
  .addCommand(slaveCommand())
  .addCommand((await import('./commands/marathon.js')).marathonCommand())
  .addCommand((await import('./commands/apps.js')).appsCommand())
  .addCommand((await import('./commands/chaos.js')).chaosCommand())
  .addCommand((await import('./commands/bench.js')).benchCommand())
  .addCommand(localCommand())
  .addCommand(runCommand())
  .addCommand(versionCommand());

await program.parseAsync(process.argv);
