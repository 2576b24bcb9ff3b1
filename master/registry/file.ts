/**
 * The registry in a file of the master's work dir (standalone mode): `registry.json`,
 * written to a temp file, fsynced, renamed over the old one, and the directory fsynced,
 * so a crash leaves either the old or the new document.
 *
 * @module
 */
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { decodeRegistry, DocumentRegistry, encodeRegistry, type RegistrySnapshot } from './types.js';

export const REGISTRY_FILE = 'registry.json';

export class FileRegistry extends DocumentRegistry {
  readonly file: string;

  constructor(workDir: string) {
    super();
    this.file = path.join(workDir, REGISTRY_FILE);
  }

  protected async read(): Promise<RegistrySnapshot | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return decodeRegistry(text, this.file);
  }

  protected async write(snapshot: RegistrySnapshot): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(encodeRegistry(snapshot), 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
    const dir = await open(path.dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
