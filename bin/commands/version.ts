/**
 * `agora version`.
 *
 * @module
 */
import { Command } from 'commander';
import { agoraVersion } from '../cli-support.js';

export function versionCommand(): Command {
  return new Command('version')
    .description('print Agora\'s version')
    .action(() => {
      process.stdout.write(`agora ${agoraVersion()}\n`);
    });
}
