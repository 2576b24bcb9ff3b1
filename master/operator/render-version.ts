/**
 * `/version`: the Mesos version Agora is compatible with (tools gate features on it, so it
 * must look like Mesos >= 1.0), plus Agora's own version.
 *
 * @module
 */
import { AGORA_VERSION, MESOS_COMPATIBLE_VERSION } from '../version.js';

// One source for both versions: master/version.ts (what MasterInfo carries too).
export { AGORA_VERSION, MESOS_COMPATIBLE_VERSION };

/** What Mesos calls build information; Agora has no build step that stamps it, so it is injected. */
export interface BuildInfo {
  /** `YYYY-MM-DD HH:MM:SS`, like Mesos's `build_date`. */
  date: string;
  /** Seconds since the epoch. */
  time: number;
  user: string;
  gitSha?: string;
}

/** Build info for a process that knows nothing better: stamped with its start time. */
export function defaultBuildInfo(startedAtMs: number): BuildInfo {
  const iso = new Date(startedAtMs).toISOString();
  return { date: `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, time: Math.floor(startedAtMs / 1000), user: 'agora' };
}

export interface VersionJson {
  version: string;
  build_date: string;
  build_time: number;
  build_user: string;
  git_sha?: string;
  agora_version: string;
}

/** The body of `GET /version`. */
export function renderVersion(build: BuildInfo): VersionJson {
  const out: VersionJson = {
    version: MESOS_COMPATIBLE_VERSION,
    build_date: build.date,
    build_time: build.time,
    build_user: build.user,
    agora_version: AGORA_VERSION,
  };
  if (build.gitSha !== undefined) out.git_sha = build.gitSha;
  return out;
}
