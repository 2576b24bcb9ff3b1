/**
 * The file store's snapshot + operation log (master/registry/file.ts) on a real temp dir:
 * commits append, the log is compacted into a new snapshot once it outgrows it, a torn
 * last line is dropped, a log left by an interrupted compaction is ignored, and a bad
 * complete line is corruption.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  composeFileRegistry, encodeRegistry, FileRegistry, readFileRegistrySync, REGISTRY_FILE, REGISTRY_LOG_FILE,
  type RegistrySnapshot,
} from '../../master/registry/index.js';
import type { AgentInfo } from '../../sdk/protocol/index.js';

const info = (host: string): AgentInfo => ({ hostname: host, port: 5051, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 8 } }] });

function tempDir(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agora-registry-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const plain = (s: RegistrySnapshot): string => encodeRegistry(s);

t.test('the first commit writes a snapshot; later ones append to the log', async (t) => {
  const dir = tempDir(t);
  const r = new FileRegistry(dir);
  await r.load();
  await r.admitAgent('a1', info('h1'), 1);
  const snapshotAfterFirst = readFileSync(path.join(dir, REGISTRY_FILE), 'utf8');
  t.match(JSON.parse(snapshotAfterFirst), { format: 1, generation: 1, agents: { a1: { admittedAt: 1 } } });
  await r.admitAgent('a2', info('h2'), 2);
  await r.markUnreachable('a1', 3);
  await r.setFrameworkDeadline('f', 9);
  t.equal(readFileSync(path.join(dir, REGISTRY_FILE), 'utf8'), snapshotAfterFirst, 'the snapshot is not rewritten');
  const log = readFileSync(path.join(dir, REGISTRY_LOG_FILE), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(log.map((l) => l.op ?? 'header'), ['header', 'admitAgent', 'markUnreachable', 'setFrameworkDeadline']);
  t.same(log[0], { registryLog: 1, base: 1 });
  await r.close();
  const s = await new FileRegistry(dir).load();
  t.same(Object.keys(s.agents), ['a2']);
  t.same(s.unreachable, { a1: 3 });
  t.same(s.frameworks, { f: { deadlineMs: 9 } });
  t.same(readFileRegistrySync(dir), s, 'the sync reader sees the same');
});

t.test('a log that outgrows the snapshot is compacted; the document stays the same', async (t) => {
  const dir = tempDir(t);
  const r = new FileRegistry(dir, { compactionBytes: 2000 });
  await r.load();
  const generations = new Set<number>();
  for (let i = 0; i < 200; i++) {
    await r.admitAgent(`a${i}`, info(`h${i}`), i);
    if (i % 3 === 0) await r.markUnreachable(`a${i}`, 1000 + i);
    generations.add((JSON.parse(readFileSync(path.join(dir, REGISTRY_FILE), 'utf8')) as { generation: number }).generation);
    const logBytes = statSync(path.join(dir, REGISTRY_LOG_FILE), { throwIfNoEntry: false })?.size ?? 0;
    const snapshotBytes = statSync(path.join(dir, REGISTRY_FILE)).size;
    if (logBytes > Math.max(2000, snapshotBytes) + 1000) t.fail(`log of ${logBytes} bytes not compacted (snapshot ${snapshotBytes})`);
  }
  t.ok(generations.size > 3, `compacted several times (${generations.size} generations)`);
  t.ok(generations.size < 60, 'but not on every commit');
  await r.close();
  const reloaded = await new FileRegistry(dir).load();
  t.equal(Object.keys(reloaded.agents).length, 200 - 67);
  t.equal(Object.keys(reloaded.unreachable).length, 67);
  t.equal(plain(readFileRegistrySync(dir)), plain(reloaded));
});

t.test('a torn last line is dropped on load and the log goes on after it', async (t) => {
  const dir = tempDir(t);
  const r = new FileRegistry(dir);
  await r.admitAgent('a1', info('h1'), 1);
  await r.admitAgent('a2', info('h2'), 2);
  await r.close();
  appendFileSync(path.join(dir, REGISTRY_LOG_FILE), '{"op":"admitAgent","id":"a3","inf');
  const again = new FileRegistry(dir);
  const s = await again.load();
  t.same(Object.keys(s.agents), ['a1', 'a2'], 'the unacknowledged half line is not applied');
  await again.admitAgent('a4', info('h4'), 4);
  await again.close();
  t.same(Object.keys((await new FileRegistry(dir).load()).agents), ['a1', 'a2', 'a4'], 'the next append starts on a whole line');
});

t.test('a log left by an interrupted compaction is ignored, not replayed twice', async (t) => {
  const dir = tempDir(t);
  const r = new FileRegistry(dir);
  await r.admitAgent('a1', info('h1'), 1);
  await r.markUnreachable('a1', 2);
  await r.close();
  const log = readFileSync(path.join(dir, REGISTRY_LOG_FILE), 'utf8');
  // The crash: snapshot generation 2 (holding everything) written, the old log not yet replaced.
  const whole = readFileRegistrySync(dir);
  whole.unreachable = {};
  whole.agents = {};
  writeFileSync(path.join(dir, REGISTRY_FILE), encodeRegistry(whole, 2));
  t.equal(readFileSync(path.join(dir, REGISTRY_LOG_FILE), 'utf8'), log);
  const s = await new FileRegistry(dir).load();
  t.same(s.unreachable, {}, 'the stale log of generation 1 is not applied to snapshot 2');
});

t.test('a complete line that is not an operation, or a log without its header, is corruption', async (t) => {
  const dir = tempDir(t);
  const r = new FileRegistry(dir);
  await r.admitAgent('a1', info('h1'), 1);
  await r.admitAgent('a2', info('h2'), 2);
  await r.close();
  appendFileSync(path.join(dir, REGISTRY_LOG_FILE), '{"op":"admitAgent","id":"","info":{},"timeMs":1}\n');
  await t.rejects(new FileRegistry(dir).load(), { code: 'AGORA_REGISTRY_CORRUPT', message: /line 3/ });
  t.throws(() => composeFileRegistry(undefined, '{"registryLog":1,"base":0}\n{"op":"launchMissiles"}\n', dir), { code: 'AGORA_REGISTRY_CORRUPT', message: /line 2 is not a registry operation/ });
  t.throws(() => composeFileRegistry(undefined, 'garbage\n{"op":"removeAgent","id":"x"}\n', dir), { code: 'AGORA_REGISTRY_CORRUPT', message: /header/ });
  t.same(composeFileRegistry(undefined, '{"registryLo', dir), { snapshot: undefined, generation: 0, snapshotBytes: 0, logBytes: 0, tornTail: true }, 'a torn header: nothing was stored');
  t.same(composeFileRegistry(undefined, undefined, dir).snapshot, undefined, 'nothing stored');
});
