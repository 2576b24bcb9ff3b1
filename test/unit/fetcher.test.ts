/**
 * slave/fetcher.ts: local files, file:// URLs, http downloads from a test server, archive
 * extraction (tar.gz, zip, tar.bz2), extract:false, executable, and the refusals.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import AdmZip from 'adm-zip';
import t, { type Test } from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import { archiveKind, destinationPath, fetchUris, uriSource } from '../../slave/fetcher.js';

function tempDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `agora-fetch-${prefix}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A source dir with a file, and a sandbox. */
function setup(t: { teardown(fn: () => void): void }): { src: string; sandbox: string } {
  const src = tempDir(t, 'src');
  const sandbox = tempDir(t, 'sandbox');
  writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
  return { src, sandbox };
}

/** Awaits a rejection; fails the test unless it is an AGORA_FETCH_FAILED AgoraError matching `pattern`. */
async function rejectsWithCode(t: Test, promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof AgoraError, 'an AgoraError');
  t.equal((err as AgoraError).code, 'AGORA_FETCH_FAILED');
  t.match((err as Error).message, pattern);
}

t.test('pure helpers', async (t) => {
  t.equal(archiveKind('a.tar.gz'), 'tar.gz');
  t.equal(archiveKind('A.TGZ'), 'tar.gz');
  t.equal(archiveKind('a.tar'), 'tar');
  t.equal(archiveKind('a.tar.bz2'), 'tar.bz2');
  t.equal(archiveKind('a.tar.xz'), 'tar.xz');
  t.equal(archiveKind('a.zip'), 'zip');
  t.equal(archiveKind('a.gz'), undefined);
  t.equal(archiveKind('script.sh'), undefined);
  t.same(uriSource('/opt/x'), { kind: 'file', path: '/opt/x' });
  t.same(uriSource('file:///opt/x%20y'), { kind: 'file', path: '/opt/x y' });
  t.same(uriSource('HTTPS://h/x'), { kind: 'http', url: 'HTTPS://h/x' });
  t.throws(() => uriSource('relative/path'), { code: 'AGORA_FETCH_FAILED' });
  t.throws(() => uriSource('hdfs://nn/x'), { code: 'AGORA_FETCH_FAILED' });
  t.equal(destinationPath({ value: 'http://h/a/b/app.tgz?x=1' }, '/sb'), '/sb/app.tgz');
  t.equal(destinationPath({ value: '/x/y', output_file: 'sub/z' }, '/sb'), '/sb/sub/z');
  t.throws(() => destinationPath({ value: '/x/y', output_file: '../z' }, '/sb'), { code: 'AGORA_FETCH_FAILED', message: /outside the sandbox/ });
  t.throws(() => destinationPath({ value: '/x/y', output_file: '/etc/passwd' }, '/sb'), { code: 'AGORA_FETCH_FAILED' });
  t.throws(() => destinationPath({ value: 'http://h/' }, '/sb'), { code: 'AGORA_FETCH_FAILED', message: /output_file/ });
});

t.test('a local path and a file:// URL are copied; output_file names the destination', async (t) => {
  const { src, sandbox } = setup(t);
  await fetchUris([
    { value: path.join(src, 'hello.txt') },
    { value: pathToFileURL(path.join(src, 'hello.txt')).href, output_file: 'conf/renamed.txt' },
  ], sandbox);
  t.equal(readFileSync(path.join(sandbox, 'hello.txt'), 'utf8'), 'hello\n');
  t.equal(readFileSync(path.join(sandbox, 'conf/renamed.txt'), 'utf8'), 'hello\n');
  t.equal(statSync(path.join(sandbox, 'hello.txt')).mode & 0o111, 0, 'not executable unless asked');
});

t.test('executable sets mode 0755 (and is not extracted)', async (t) => {
  const { src, sandbox } = setup(t);
  writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o600 });
  await fetchUris([{ value: path.join(src, 'run.sh'), executable: true }], sandbox);
  t.equal(statSync(path.join(sandbox, 'run.sh')).mode & 0o777, 0o755);
  t.equal(execFileSync(path.join(sandbox, 'run.sh'), { encoding: 'utf8' }), 'ran\n');
});

t.test('tar.gz, zip and tar.bz2 are extracted into the sandbox; the archive stays', async (t) => {
  const { src, sandbox } = setup(t);
  mkdirSync(path.join(src, 'app/bin'), { recursive: true });
  writeFileSync(path.join(src, 'app/bin/start'), '#!/bin/sh\necho started\n', { mode: 0o755 });
  writeFileSync(path.join(src, 'app/README'), 'readme\n');
  execFileSync('tar', ['-czf', path.join(src, 'app.tar.gz'), '-C', src, 'app']);
  execFileSync('tar', ['-cjf', path.join(src, 'other.tar.bz2'), '-C', src, 'hello.txt']);
  const zip = new AdmZip();
  zip.addFile('zipped/data.txt', Buffer.from('from zip\n'));
  zip.writeZip(path.join(src, 'bundle.zip'));

  await fetchUris([
    { value: path.join(src, 'app.tar.gz') },
    { value: pathToFileURL(path.join(src, 'bundle.zip')).href, extract: true },
    { value: path.join(src, 'other.tar.bz2') },
  ], sandbox);
  t.equal(readFileSync(path.join(sandbox, 'app/README'), 'utf8'), 'readme\n');
  t.equal(statSync(path.join(sandbox, 'app/bin/start')).mode & 0o111, 0o111, 'modes kept');
  t.equal(readFileSync(path.join(sandbox, 'zipped/data.txt'), 'utf8'), 'from zip\n');
  t.equal(readFileSync(path.join(sandbox, 'hello.txt'), 'utf8'), 'hello\n');
  t.ok(existsSync(path.join(sandbox, 'app.tar.gz')), 'the archive is kept, as Mesos does');
});

t.test('extract:false keeps the archive as it is', async (t) => {
  const { src, sandbox } = setup(t);
  execFileSync('tar', ['-czf', path.join(src, 'keep.tgz'), '-C', src, 'hello.txt']);
  await fetchUris([{ value: path.join(src, 'keep.tgz'), extract: false }], sandbox);
  t.ok(existsSync(path.join(sandbox, 'keep.tgz')));
  t.notOk(existsSync(path.join(sandbox, 'hello.txt')), 'not extracted');
});

t.test('archives with entries escaping the sandbox are refused', async (t) => {
  const { src, sandbox } = setup(t);
  const zip = new AdmZip();
  zip.addFile('ok.txt', Buffer.from('ok'));
  zip.addFile('x/../../escape.txt', Buffer.from('bad'));
  // adm-zip normalises names on add; write the raw header name afterwards.
  const entry = zip.getEntries().find((e) => e.entryName !== 'ok.txt')!;
  entry.entryName = '../escape.txt';
  zip.writeZip(path.join(src, 'evil.zip'));
  await rejectsWithCode(t, fetchUris([{ value: path.join(src, 'evil.zip') }], sandbox), /entry outside the sandbox/);
  t.notOk(existsSync(path.join(path.dirname(sandbox), 'escape.txt')));
  t.notOk(existsSync(path.join(sandbox, 'ok.txt')), 'nothing extracted');

  // GNU tar keeps `..` members when told to with -P.
  mkdirSync(path.join(src, 'd'));
  execFileSync('tar', ['-czPf', path.join(src, 'evil.tar.gz'), path.join(src, 'd', '..', 'hello.txt')]);
  await rejectsWithCode(t, fetchUris([{ value: path.join(src, 'evil.tar.gz') }], sandbox), /entry outside the sandbox/);
});

t.test('http(s): downloads follow redirects; 404 and unreachable servers fail; timeouts bound downloads', async (t) => {
  const sandbox = tempDir(t, 'sandbox');
  const zip = new AdmZip();
  zip.addFile('web/index.html', Buffer.from('<h1>hi</h1>'));
  const zipBytes = zip.toBuffer();
  const server = http.createServer((req, res) => {
    if (req.url === '/files/app.zip') res.writeHead(200, { 'Content-Type': 'application/zip' }).end(zipBytes);
    else if (req.url === '/redirect') res.writeHead(302, { Location: '/files/plain.txt' }).end();
    else if (req.url === '/files/plain.txt') res.writeHead(200).end('plain\n');
    else if (req.url === '/slow') res.writeHead(200).write('partial'); // never ends
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  await fetchUris([
    { value: `${base}/files/app.zip` },
    { value: `${base}/redirect`, output_file: 'fetched.txt' },
  ], sandbox);
  t.equal(readFileSync(path.join(sandbox, 'web/index.html'), 'utf8'), '<h1>hi</h1>');
  t.equal(readFileSync(path.join(sandbox, 'fetched.txt'), 'utf8'), 'plain\n');

  await rejectsWithCode(t, fetchUris([{ value: `${base}/missing.tgz` }], sandbox), /HTTP 404/);
  await rejectsWithCode(t, fetchUris([{ value: `${base}/slow`, output_file: 'slow.bin' }], sandbox, { timeoutMs: 200 }), /timed out after 200 ms/);
  t.notOk(existsSync(path.join(sandbox, 'slow.bin')), 'a partial download is removed');

  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await rejectsWithCode(t, fetchUris([{ value: `http://127.0.0.1:${deadPort}/x.txt` }], sandbox), /failed to download.*ECONNREFUSED/);
});

t.test('refusals: missing file, directory, output_file outside the sandbox', async (t) => {
  const { src, sandbox } = setup(t);
  await rejectsWithCode(t, fetchUris([{ value: path.join(src, 'nope') }], sandbox), /no such file/);
  await rejectsWithCode(t, fetchUris([{ value: src }], sandbox), /not a regular file/);
  await rejectsWithCode(t, fetchUris([{ value: path.join(src, 'hello.txt'), output_file: '../../etc/x' }], sandbox), /outside the sandbox/);
  await rejectsWithCode(t, fetchUris([{ value: 'ftp://host/x' }], sandbox), /unsupported URI/);
});
