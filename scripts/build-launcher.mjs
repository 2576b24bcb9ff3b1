#!/usr/bin/env node
// Builds the native task launcher helper (slave/executor/native/agora-launcher.c) into
// dist/slave/executor/agora-launcher, part of `npm run build` (so of `npm install`).
//
// The helper is an optimisation, not a requirement: without a C compiler, or if the
// compile fails, this prints why and exits 0, and the command executor starts tasks with its
// perl helper as before (slave/executor/task-launcher.ts picks what is there). `CC` names
// the compiler; else the first of cc, gcc, clang found.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'slave', 'executor', 'native', 'agora-launcher.c');
const target = path.join(root, 'dist', 'slave', 'executor', 'agora-launcher');
const candidates = process.env.CC ? [process.env.CC] : ['cc', 'gcc', 'clang'];

const compiler = candidates.find((cc) => spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0);
if (compiler === undefined) {
  console.warn(`build-launcher: no C compiler (${candidates.join(', ')}); tasks will be started by the perl helper`);
  process.exit(0);
}
fs.mkdirSync(path.dirname(target), { recursive: true });
// Built beside the target and renamed over it: an executor starting meanwhile never runs half a file.
const partial = `${target}.${process.pid}.tmp`;
const built = spawnSync(compiler, ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-o', partial, source], { encoding: 'utf8' });
if (built.status !== 0) {
  fs.rmSync(partial, { force: true });
  console.warn(`build-launcher: ${compiler} failed (${built.error?.message ?? `status ${built.status}`}); tasks will be started by the perl helper\n${built.stderr ?? ''}`);
  process.exit(0);
}
if (built.stderr) process.stderr.write(built.stderr);
fs.renameSync(partial, target);
