/**
 * Path ids from URLs, the way Marathon's `String.toAbsolutePath` reads them: empty
 * segments are dropped, so `/v2/apps//foo` and `/v2/apps/foo/` both name `/foo`.
 *
 * @module
 */
import type { PathId } from '../model/types.js';

/** Decodes and splits a raw URL path part into its non-empty segments. */
export function segmentsOf(rawPath: string): string[] {
  return rawPath.split('/').filter((s) => s !== '').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

/** `foo//bar/` → `/foo/bar`; `` → `/`. */
export function absolutePathId(segments: readonly string[]): PathId {
  const parts = segments.filter((s) => s !== '' && s !== '.');
  return `/${parts.join('/')}`;
}

/** The parent of an absolute path id (`/a/b` → `/a`, `/a` → `/`). */
export function parentOf(id: PathId): PathId {
  const i = id.lastIndexOf('/');
  return i <= 0 ? '/' : id.slice(0, i);
}
