/**
 * Building the master's MasterInfo the way Mesos fills it.
 *
 * @module
 */
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';
import type { MasterInfo } from '../sdk/protocol/index.js';
import { AgoraError } from '../sdk/core/errors.js';
import { MESOS_COMPATIBLE_VERSION } from './version.js';

/**
 * Packs an IPv4 address the way Mesos stores `MasterInfo.ip`: the four bytes in network
 * order read as a little-endian uint32 (127.0.0.1 → 16777343).
 */
export function packIpv4(ip: string): number {
  if (!isIPv4(ip)) throw new AgoraError('AGORA_MASTER_BAD_OPTION', `not an IPv4 address: ${ip}`);
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return (a + (b << 8) + (c << 16) + d * 2 ** 24) >>> 0;
}

/** Inverse of {@link packIpv4}. */
export function unpackIpv4(packed: number): string {
  return [packed & 0xff, (packed >>> 8) & 0xff, (packed >>> 16) & 0xff, (packed >>> 24) & 0xff].join('.');
}

/** The IPv4 to advertise: explicit, else the bind host when specific, else the first external IPv4, else loopback. */
export function resolveAdvertiseIp(advertiseIp: string | undefined, bindHost: string): string {
  if (advertiseIp !== undefined) {
    if (!isIPv4(advertiseIp)) throw new AgoraError('AGORA_MASTER_BAD_OPTION', `advertiseIp must be IPv4, got ${advertiseIp}`);
    return advertiseIp;
  }
  if (isIPv4(bindHost) && bindHost !== '0.0.0.0') return bindHost;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** MasterInfo as Mesos publishes it (also the JSON stored in ZooKeeper's `json.info_*`). */
export function buildMasterInfo(p: { id: string; ip: string; port: number; hostname: string }): MasterInfo {
  return {
    id: p.id,
    ip: packIpv4(p.ip),
    port: p.port,
    pid: `master@${p.ip}:${p.port}`,
    hostname: p.hostname,
    version: MESOS_COMPATIBLE_VERSION,
    address: { hostname: p.hostname, ip: p.ip, port: p.port },
  };
}
