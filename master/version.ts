/**
 * Versions the master reports: the Mesos version it is compatible with (what MasterInfo and
 * `/version` carry, so Mesos-aware tools accept it) and Agora's own package version.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** The Mesos release whose APIs the master speaks (MasterInfo.version). */
export const MESOS_COMPATIBLE_VERSION = '1.11.0';

function readAgoraVersion(): string {
  // Works from the source tree (master/ → ../package.json) and from dist/master (../../package.json).
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'agora' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

/** Agora's own version (package.json). */
export const AGORA_VERSION: string = readAgoraVersion();
