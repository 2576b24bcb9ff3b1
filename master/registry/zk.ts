/**
 * The registry in ZooKeeper (HA mode): one JSON document at `<path>/registry`, written with
 * the version read last (compare-and-set), so a deposed leader that still thinks it leads
 * cannot overwrite what the new leader wrote: its write fails with
 * `AGORA_REGISTRY_CONFLICT`. The document stays far below ZooKeeper's 1 MB znode limit
 * (about 1 KB per admitted agent); a larger one is refused with `AGORA_REGISTRY_TOO_LARGE`.
 *
 * @module
 */
import { AgoraError } from '../../sdk/core/errors.js';
import { decodeRegistry, DocumentRegistry, encodeRegistry, type RegistrySnapshot } from './types.js';

/** The part of sdk/zk's ZkSession the registry uses. */
export interface RegistryZkSession {
  get(path: string): Promise<{ data: Buffer; version: number } | undefined>;
  set(path: string, data: string | Buffer, version?: number): Promise<number>;
  create(path: string, data: string | Buffer, mode: 'PERSISTENT'): Promise<string>;
  mkdirp(path: string): Promise<void>;
}

/** ZooKeeper's default jute.maxbuffer, minus some room. */
export const MAX_REGISTRY_BYTES = 1_000_000;

export class ZkRegistry extends DocumentRegistry {
  readonly node: string;
  /** Version of the node as last read or written; -1 when it does not exist. */
  private version = -1;

  constructor(private readonly session: RegistryZkSession, basePath: string) {
    super();
    this.node = `${basePath.replace(/\/+$/, '')}/registry`;
  }

  protected async read(): Promise<RegistrySnapshot | undefined> {
    const got = await this.session.get(this.node);
    if (got === undefined || got.data.length === 0) {
      this.version = got === undefined ? -1 : got.version;
      return undefined;
    }
    this.version = got.version;
    return decodeRegistry(got.data.toString('utf8'), `zk:${this.node}`);
  }

  protected async write(snapshot: RegistrySnapshot): Promise<void> {
    const data = Buffer.from(encodeRegistry(snapshot), 'utf8');
    if (data.length > MAX_REGISTRY_BYTES) {
      throw new AgoraError('AGORA_REGISTRY_TOO_LARGE', `registry document of ${data.length} bytes exceeds ${MAX_REGISTRY_BYTES}`);
    }
    if (this.version < 0) {
      const parent = this.node.slice(0, this.node.lastIndexOf('/'));
      if (parent !== '') await this.session.mkdirp(parent);
      try {
        await this.session.create(this.node, data, 'PERSISTENT');
        this.version = 0;
        return;
      } catch (err) {
        throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry ${this.node} was created by another master: ${(err as Error).message}`, { cause: err });
      }
    }
    try {
      this.version = await this.session.set(this.node, data, this.version);
    } catch (err) {
      throw new AgoraError('AGORA_REGISTRY_CONFLICT', `registry ${this.node} changed under this master (another leader?): ${(err as Error).message}`, { cause: err });
    }
  }
}
