/**
 * ZooKeeper for Agora: `zk://` URLs, a session wrapper with a promise API, and the leader
 * election and detection recipes (Mesos's layout: `<path>/json.info_<seq>`). See
 * docs/zookeeper.md.
 *
 * Importing this module does not load the native `zookeeper` addon: {@link connectZk}
 * loads it on first use. Callers outside sdk/zk import this module lazily too, only when
 * they are given a `zk://` URL.
 *
 * @module
 */
export { parseZkUrl, joinZkPath, redact as redactZkUrl, DEFAULT_ZK_PORT, type ZkUrl } from './url.js';
export {
  connectZk,
  toZkError,
  ZK_ERROR_CODES,
  NativeZkSession,
  type ZkSession,
  type ZkSessionEvent,
  type ZkCreateMode,
  type ZkConnectOptions,
} from './session.js';
export { createZkElector, ZkElector, type ZkElectorOptions } from './election.js';
export { createZkDetector, ZkDetector, type ZkDetectorOptions } from './detection.js';
export { DEFAULT_MEMBER_PREFIX, sortMembers, memberSequence, contenderPosition, type ContenderPosition } from './group.js';
