/**
 * Kit for the master HA component tests: in-process masters in ZooKeeper mode on loopback,
 * each with its own work dir, demotions recorded instead of exiting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../sdk/core/log.js';
import { startMaster, type MasterOptions, type RunningMaster } from '../../master/main.js';
import type { TestZooKeeper } from '../helpers/zookeeper.js';

export interface HaMaster extends RunningMaster {
  workDir: string;
  demoted: string[];
}

/** Starts a master contending under `zkPath`; closed and cleaned up with the test. */
export async function startHaMaster(t: { teardown(fn: () => unknown): void }, zk: TestZooKeeper, zkPath: string, opts: Partial<MasterOptions> = {}): Promise<HaMaster> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'agora-ha-master-'));
  const demoted: string[] = [];
  const m = await startMaster({
    port: 0, host: '127.0.0.1', hostname: '127.0.0.1', advertiseIp: '127.0.0.1', workDir, logger: silentLogger(),
    zk: zk.url(zkPath), zkSessionTimeoutMs: 4000, onDemoted: (reason) => demoted.push(reason), ...opts,
  });
  t.teardown(async () => {
    await m.close();
    rmSync(workDir, { recursive: true, force: true });
  });
  return Object.assign(m, { workDir, demoted });
}

