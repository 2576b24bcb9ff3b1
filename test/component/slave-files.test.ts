/**
 * The slave's /files endpoints serve only what is inside `<workDir>/slaves`: `..`,
 * absolute paths elsewhere and symlinks pointing out are 404, like paths Mesos never
 * attached.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FakeMaster, getJson, startTestSlave, tempWorkDir } from './slave-kit.js';

t.test('/files: browse, read, download inside the sandbox root; nothing outside', async (t) => {
  const master = await FakeMaster.start();
  const workDir = tempWorkDir();
  const sandbox = path.join(workDir, 'slaves', 'S0', 'frameworks', 'f', 'executors', 'e', 'runs', 'c');
  fs.mkdirSync(path.join(sandbox, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(sandbox, 'stdout'), 'line one\nline two\n');
  fs.chmodSync(path.join(sandbox, 'stdout'), 0o640);
  fs.writeFileSync(path.join(workDir, 'secret.txt'), 'top secret');
  fs.symlinkSync('/etc', path.join(sandbox, 'etc-link'));
  fs.symlinkSync(path.join(workDir, 'secret.txt'), path.join(sandbox, 'secret-link'));
  fs.symlinkSync(path.join(sandbox, 'stdout'), path.join(sandbox, 'inside-link'));
  const { slave } = await startTestSlave(master, { workDir });
  t.teardown(async () => { await slave.close(); await master.close(); fs.rmSync(workDir, { recursive: true, force: true }); });
  const q = (endpoint: string, p: string, extra = '') => `${slave.url}/files/${endpoint}?path=${encodeURIComponent(p)}${extra}`;

  const ok = await getJson(q('read', path.join(sandbox, 'stdout'), '&offset=0'));
  t.same(ok.body, { data: 'line one\nline two\n', offset: 0 });
  t.same((await getJson(q('read', path.join(sandbox, 'inside-link'), '&offset=5&length=3'))).body, { data: 'one', offset: 5 }, 'a symlink that stays inside is fine');
  t.same((await getJson(q('read', path.join(sandbox, 'stdout'), '&offset=-1'))).body, { data: '', offset: 18 });

  const escapes = [
    path.join(workDir, 'slaves', '..', 'secret.txt'),
    `${workDir}/slaves/S0/../../secret.txt`,
    '../secret.txt',
    '/etc/passwd',
    path.join(sandbox, 'etc-link'),
    path.join(sandbox, 'etc-link', 'passwd'),
    path.join(sandbox, 'secret-link'),
    path.join(sandbox, 'missing'),
    workDir,
  ];
  for (const p of escapes) {
    for (const endpoint of ['read', 'browse', 'download']) {
      const r = await fetch(q(endpoint, p, endpoint === 'read' ? '&offset=0' : ''));
      const body = await r.text();
      t.equal(r.status, 404, `${endpoint} ${p} → 404`);
      t.equal(body, 'File not found');
      t.notMatch(body, /secret|root:/);
    }
  }

  const dir = await getJson(q('read', sandbox, '&offset=0'));
  t.equal(dir.status, 400, 'reading a directory is a bad request');
  t.equal((await fetch(q('download', sandbox))).status, 400);
  t.equal((await getJson(`${slave.url}/files/read`)).status, 400, 'path is required');
  t.equal((await getJson(q('read', path.join(sandbox, 'stdout'), '&offset=abc'))).status, 400);
  t.equal((await getJson(q('read', path.join(sandbox, 'stdout'), '&offset=-5'))).status, 400);

  const browse = await getJson(q('browse', sandbox));
  t.equal(browse.status, 200);
  const byName = Object.fromEntries(browse.body.map((e: { path: string }) => [path.basename(e.path), e]));
  t.same(Object.keys(byName).sort(), ['etc-link', 'inside-link', 'secret-link', 'stdout', 'sub']);
  t.equal(byName.stdout.mode, '-rw-r-----');
  t.equal(byName.stdout.size, 18);
  t.equal(byName.stdout.path, path.join(sandbox, 'stdout'));
  t.match(byName.sub.mode, /^drwx/);
  t.match(byName['etc-link'].mode, /^l/, 'symlinks are listed as links, not followed');
  const root = await getJson(q('browse', path.join(workDir, 'slaves')));
  t.equal(root.status, 200, 'the sandbox root itself can be browsed');

  const dl = await fetch(q('download', path.join(sandbox, 'stdout')));
  t.equal(dl.status, 200);
  t.equal(dl.headers.get('content-type'), 'application/octet-stream');
  t.equal(await dl.text(), 'line one\nline two\n');
});
