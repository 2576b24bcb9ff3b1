/**
 * Where things live: the package root (to find the compiled command executor) and the
 * Mesos sandbox layout under the slave's work dir.
 *
 * Layout (Mesos's own, so operators and UIs find sandboxes where they expect them):
 * `<workDir>/slaves/<agentId>/frameworks/<frameworkId>/executors/<executorId>/runs/<containerId>`.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/**
 * The nearest directory up from this module containing a `package.json`: the repository
 * root both when running from `slave/*.ts` (tests) and from `dist/slave/*.js` (dist has no
 * package.json of its own).
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return (cachedRoot = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Absolute path of the compiled built-in command/default executor program. */
export function commandExecutorPath(): string {
  return path.join(packageRoot(), 'dist', 'slave', 'executor', 'command-executor-main.js');
}

/** `<workDir>/slaves`: the only tree the `/files` endpoints serve. */
export function slavesDir(workDir: string): string {
  return path.join(workDir, 'slaves');
}

/** The sandbox of one executor run (one container). */
export function executorRunDir(workDir: string, agentId: string, frameworkId: string, executorId: string, containerId: string): string {
  return path.join(slavesDir(workDir), agentId, 'frameworks', frameworkId, 'executors', executorId, 'runs', containerId);
}

/**
 * True when an id can be used as one path segment: not empty, not `.`/`..`, no `/` or NUL.
 * Framework, executor and agent ids come from the network, so they are checked before they
 * become directory names.
 */
export function isSafePathSegment(id: string): boolean {
  return id.length > 0 && id.length <= 255 && id !== '.' && id !== '..' && !/[/\\\0]/.test(id);
}
