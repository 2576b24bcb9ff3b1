/**
 * The probes of Marathon-side health checks (HealthCheckWorker): an HTTP(S) GET that is
 * healthy on 200–399 (1xx ignored when asked), or a TCP connect. The timeout goes through
 * the injected clock.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Clock } from '../../../../sdk/core/clock.js';

/** One probe: resolves true (healthy) or false; never rejects. */
export type Probe = (target: ProbeTarget) => Promise<ProbeResult>;

export interface ProbeTarget {
  protocol: 'HTTP' | 'HTTPS' | 'TCP';
  host: string;
  port: number;
  path?: string;
  timeoutMs: number;
  ignoreHttp1xx: boolean;
}

export interface ProbeResult {
  healthy: boolean;
  /** Why it failed (for the log and failed_health_check_event). */
  reason?: string;
  /** An HTTP 1xx answer with ignoreHttp1xx: neither healthy nor a failure. */
  ignored?: boolean;
}

/** The real probes, timed out through `clock`. */
export function createProbe(clock: Clock): Probe {
  return (target) => new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      cleanup();
      resolve(r);
    };
    let cleanup: () => void = () => undefined;
    const timer = clock.setTimeout(() => done({ healthy: false, reason: `timed out after ${target.timeoutMs} ms` }), target.timeoutMs);
    if (target.protocol === 'TCP') {
      const socket = net.connect({ host: target.host, port: target.port });
      cleanup = () => socket.destroy();
      socket.once('connect', () => done({ healthy: true }));
      socket.once('error', (err) => done({ healthy: false, reason: err.message }));
      return;
    }
    const lib = target.protocol === 'HTTPS' ? https : http;
    const req = lib.request({
      host: target.host,
      port: target.port,
      path: target.path ?? '/',
      method: 'GET',
      headers: { 'User-Agent': 'marathon' },
      ...(target.protocol === 'HTTPS' ? { rejectUnauthorized: false } : {}),
    }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 100 && status < 200 && target.ignoreHttp1xx) done({ healthy: false, ignored: true });
      else if (status >= 200 && status < 400) done({ healthy: true });
      else done({ healthy: false, reason: `HTTP ${status}` });
    });
    cleanup = () => req.destroy();
    req.once('error', (err) => done({ healthy: false, reason: err.message }));
    req.end();
  });
}
