/**
 * The native task launcher helper: `dist/slave/executor/agora-launcher`, built from
 * native/agora-launcher.c by `npm run build` (scripts/build-launcher.mjs) when a C compiler
 * is found. It speaks the perl helper's protocol; a task costs about half as much CPU to
 * start, because its child is vforked and only makes syscalls before its exec, where the
 * perl helper forks and the child runs perl code (see the C file's comment).
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { helperEnvironment, type HelperProgram } from './helper-launcher.js';

/** Where the build puts the native helper. */
export function nativeLauncherPath(): string {
  return path.join(packageRoot(), 'dist', 'slave', 'executor', 'agora-launcher');
}

/** Whether the native helper was built (and may be run) at `file`. */
export function nativeLauncherBuilt(file = nativeLauncherPath()): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The native helper as a {@link HelperProgram}. */
export function nativeHelper(file = nativeLauncherPath()): HelperProgram {
  return { name: 'native', file, args: [], env: helperEnvironment() };
}
