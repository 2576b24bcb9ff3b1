/**
 * A ZooKeeper registry session that lets a test commit in the middle of a read: the first
 * `get` under `prefix` (a piece of the registry) first awaits `before`, then reads.
 */
import type { RegistryZkSession } from '../../master/registry/index.js';

export function interposedSession(session: RegistryZkSession, prefix: string, before: () => Promise<void>): { session: RegistryZkSession; interposed: () => boolean } {
  let interposed = false;
  return {
    interposed: () => interposed,
    session: {
      get: async (p) => {
        if (!interposed && p.startsWith(prefix)) {
          interposed = true;
          await before();
        }
        return session.get(p);
      },
      set: (p, d, v) => session.set(p, d, v),
      create: (p, d, m) => session.create(p, d, m),
      mkdirp: (p) => session.mkdirp(p),
      children: (p) => session.children(p),
      delete: (p, v) => session.delete(p, v),
    },
  };
}
