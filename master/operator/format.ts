/**
 * Small formatting rules the operator endpoints share: Mesos times are seconds since the
 * epoch as floats, pids are libprocess-style `name@ip:port` strings, and a MasterInfo's
 * `ip` is an IPv4 address packed into a uint32 in network byte order.
 *
 * @module
 */
import type { MasterInfo } from '../../sdk/protocol/index.js';

/** ms since the epoch → Mesos's seconds-as-float. */
export function secs(ms: number): number {
  return ms / 1000;
}

/**
 * Dotted IPv4 from MasterInfo.ip. Mesos stores `inet_addr`'s result as a uint32 read on a
 * little-endian host, so 127.0.0.1 is 16777343 (0x0100007F): the first octet is the low byte.
 */
export function unpackIp(packed: number): string {
  const n = packed >>> 0;
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

/** The master's IP as text: `address.ip`, else the packed `ip`. */
export function masterIp(info: MasterInfo): string {
  return info.address?.ip ?? unpackIp(info.ip);
}

/** The host name to reach a master by: hostname, else address.hostname, else its IP. */
export function masterHost(info: MasterInfo): string {
  return info.hostname ?? info.address?.hostname ?? masterIp(info);
}

/** `master@ip:port` (Mesos's libprocess pid), or the pid the MasterInfo carries. */
export function masterPid(info: MasterInfo): string {
  return info.pid ?? `master@${masterIp(info)}:${info.port}`;
}

/** `slave(1)@ip:port`, the pid Mesos shows for an agent. */
export function agentPid(ip: string, port: number): string {
  return `slave(1)@${ip}:${port}`;
}
