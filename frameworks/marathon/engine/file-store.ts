/**
 * The standalone {@link MarathonStore}: JSON files in the work dir, one per entity
 * (`root.json`, `framework-id.json`, `groups/<version>.json`, `apps/<id>.json` holding that
 * app's versions, `deployments/<id>.json`, `failures/<app id>.json`), except instances,
 * which change far more often: they go to one journal, `instances.log`, with group commit
 * ({@link InstanceJournal}; a state dir of the former `instances/<id>.json` files is
 * converted on first use).
 *
 * Every write is durable before it resolves: the JSON goes to a temp file which is fsynced,
 * renamed over the target, and the directory fsynced (a crash leaves the old or the new
 * file, never half of one). Writes to one file are serialised in call order; writes to
 * different files run concurrently and share their directory fsyncs ({@link DirSync}: one
 * fsync covers every rename made before it started).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AppDefinition, DeploymentPlan, Group, Instance, PathId, TaskFailure } from '../model/types.js';
import { DirSync } from './dir-sync.js';
import { InstanceJournal } from './instance-journal.js';
import { addVersion, MAX_APP_VERSIONS, MAX_GROUP_VERSIONS, type MarathonStore, type StoredState } from './store.js';

const DIRS = ['groups', 'apps', 'deployments', 'failures'] as const;

/** A file name for an id (ids hold `/` and `.`). */
function fileNameOf(id: string): string {
  return `${encodeURIComponent(id).replace(/\./g, '%2E')}.json`;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FileStore implements MarathonStore {
  /** Pending write per file, so writes to one file land in call order. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private ready: Promise<void> | undefined;
  private readonly dirSync = new DirSync(fsyncDir);
  private readonly journal: InstanceJournal;

  /** @param dir the state directory (created on first use). */
  constructor(readonly dir: string) {
    this.journal = new InstanceJournal(path.join(dir, 'instances.log'), {
      syncDir: (d) => this.dirSync.sync(d),
      legacyDir: path.join(dir, 'instances'),
    });
  }

  private ensureDirs(): Promise<void> {
    this.ready ??= (async () => {
      for (const d of DIRS) await fs.mkdir(path.join(this.dir, d), { recursive: true });
    })();
    return this.ready;
  }

  /** Runs `op` after every earlier operation on `file`. */
  private serial<T>(file: string, op: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(file) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(async () => {
      await this.ensureDirs();
      return op();
    });
    this.chains.set(file, next);
    void next.finally(() => {
      if (this.chains.get(file) === next) this.chains.delete(file);
    }).catch(() => undefined);
    return next;
  }

  private async writeAtomic(file: string, value: unknown): Promise<void> {
    const tmp = `${file}.${randomUUID()}.tmp`;
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(value));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
    await this.dirSync.sync(path.dirname(file));
  }

  private async remove(file: string): Promise<void> {
    try {
      await fs.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await this.dirSync.sync(path.dirname(file));
  }

  private async readDir<T>(sub: (typeof DIRS)[number]): Promise<T[]> {
    const dir = path.join(this.dir, sub);
    const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    const out: T[] = [];
    for (const n of names) {
      const v = await readJson<T>(path.join(dir, n));
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  async load(): Promise<StoredState> {
    await this.ensureDirs();
    // Leftover temp files of a crash mid-write are garbage: the rename never happened.
    for (const d of ['.', ...DIRS]) {
      for (const n of await fs.readdir(path.join(this.dir, d))) {
        if (n.endsWith('.tmp')) await fs.rm(path.join(this.dir, d, n), { force: true });
      }
    }
    const fw = await readJson<{ frameworkId: string }>(path.join(this.dir, 'framework-id.json'));
    const root = await readJson<Group>(path.join(this.dir, 'root.json'));
    const groupVersions = (await this.readDir<Group>('groups')).sort((a, b) => (a.version < b.version ? -1 : 1));
    const appVersions = new Map<PathId, AppDefinition[]>();
    for (const versions of await this.readDir<AppDefinition[]>('apps')) {
      if (versions.length > 0) appVersions.set(versions[0]!.id, versions);
    }
    return {
      ...(fw !== undefined ? { frameworkId: fw.frameworkId } : {}),
      ...(root !== undefined ? { root } : {}),
      groupVersions,
      appVersions,
      deployments: await this.readDir<DeploymentPlan>('deployments'),
      instances: await this.journal.instances(),
      taskFailures: await this.readDir<TaskFailure>('failures'),
    };
  }

  saveFrameworkId(id: string): Promise<void> {
    const file = path.join(this.dir, 'framework-id.json');
    return this.serial(file, () => this.writeAtomic(file, { frameworkId: id }));
  }

  async saveRoot(root: Group): Promise<void> {
    const groupsDir = path.join(this.dir, 'groups');
    await this.serial(path.join(groupsDir, fileNameOf(root.version)), () => this.writeAtomic(path.join(groupsDir, fileNameOf(root.version)), root));
    const file = path.join(this.dir, 'root.json');
    await this.serial(file, () => this.writeAtomic(file, root));
    // Prune the oldest versions (names sort like the timestamps they encode).
    await this.serial(groupsDir, async () => {
      const names = (await fs.readdir(groupsDir)).filter((n) => n.endsWith('.json')).sort();
      for (const n of names.slice(0, Math.max(0, names.length - MAX_GROUP_VERSIONS))) await this.remove(path.join(groupsDir, n));
    });
  }

  saveAppVersion(app: AppDefinition): Promise<void> {
    const file = path.join(this.dir, 'apps', fileNameOf(app.id));
    return this.serial(file, async () => {
      const versions = (await readJson<AppDefinition[]>(file)) ?? [];
      await this.writeAtomic(file, addVersion(versions, app, MAX_APP_VERSIONS));
    });
  }

  saveTaskFailure(failure: TaskFailure): Promise<void> {
    const file = path.join(this.dir, 'failures', fileNameOf(failure.appId));
    return this.serial(file, () => this.writeAtomic(file, failure));
  }

  async deleteApp(id: PathId): Promise<void> {
    const file = path.join(this.dir, 'apps', fileNameOf(id));
    await this.serial(file, () => this.remove(file));
    const failure = path.join(this.dir, 'failures', fileNameOf(id));
    await this.serial(failure, () => this.remove(failure));
  }

  saveDeployment(plan: DeploymentPlan): Promise<void> {
    const file = path.join(this.dir, 'deployments', fileNameOf(plan.id));
    return this.serial(file, () => this.writeAtomic(file, plan));
  }

  deleteDeployment(id: string): Promise<void> {
    const file = path.join(this.dir, 'deployments', fileNameOf(id));
    return this.serial(file, () => this.remove(file));
  }

  async saveInstance(instance: Instance): Promise<void> {
    await this.ensureDirs();
    await this.journal.put(instance);
  }

  async deleteInstance(instanceId: string): Promise<void> {
    await this.ensureDirs();
    await this.journal.delete(instanceId);
  }

  /** Waits for pending writes. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
    await this.journal.close();
  }
}
