/**
 * The three health probes of Mesos's checker (src/checks/health_checker.cpp), done in-process
 * instead of with `curl` / `mesos-tcp-connect`:
 * - COMMAND: `sh -c value` (or argv when `shell` is false) in its own process group, in the
 *   task sandbox with the task's environment plus the check's `environment`; healthy iff it
 *   exits 0. On timeout the process group is SIGKILLed.
 * - HTTP: GET `<scheme>://127.0.0.1:<port><path>`, following redirects and ignoring TLS
 *   validation like `curl -L -k`; healthy iff the final status is 200–399.
 * - TCP: a connection to 127.0.0.1:<port> is accepted.
 * Every probe fails with a message when not done within the timeout (0 = no timeout); the
 * timeout runs on the injected Clock.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Clock } from '../../sdk/core/clock.js';
import type { HealthProbeSpec } from './health-check-spec.js';
import { describeEnding } from './exit-status.js';

/** Where and how a probe runs. */
export interface ProbeContext {
  clock: Clock;
  /** The task's environment (COMMAND checks). */
  env: Record<string, string>;
  /** The task sandbox (COMMAND checks' working directory). */
  cwd: string;
  /** Aborts the probe (kills a COMMAND check's processes); it then fails with "aborted". */
  signal?: AbortSignal;
}

/** The outcome of one probe; `message` says why it failed (or what succeeded). */
export interface ProbeResult {
  healthy: boolean;
  message: string;
}

/** Redirects followed by an HTTP check (curl's -L follows up to 50). */
export const MAX_HTTP_REDIRECTS = 10;

/** Runs one probe; never rejects. */
export function runHealthProbe(probe: HealthProbeSpec, timeoutMs: number, ctx: ProbeContext): Promise<ProbeResult> {
  switch (probe.type) {
    case 'COMMAND':
      return withTimeout(ctx, timeoutMs, `Command has not returned after ${formatSeconds(timeoutMs)}; aborting`, (settle) => commandProbe(probe, ctx, settle));
    case 'HTTP':
      return withTimeout(ctx, timeoutMs, `HTTP check has not returned after ${formatSeconds(timeoutMs)}; aborting`, (settle) => httpProbe(probe, settle));
    case 'TCP':
      return withTimeout(ctx, timeoutMs, `TCP check has not returned after ${formatSeconds(timeoutMs)}; aborting`, (settle) => tcpProbe(probe, settle));
  }
}

type Settle = (result: ProbeResult) => void;
/** Starts a probe; returns how to abort it. */
type Starter = (settle: Settle) => () => void;

function withTimeout(ctx: ProbeContext, timeoutMs: number, timeoutMessage: string, start: Starter): Promise<ProbeResult> {
  return new Promise((resolve) => {
    if (ctx.signal?.aborted === true) {
      resolve({ healthy: false, message: 'aborted' });
      return;
    }
    let done = false;
    let abort: () => void = () => {};
    const stop = (message: string): void => {
      if (done) return;
      done = true;
      ctx.signal?.removeEventListener('abort', onAbort);
      abort();
      resolve({ healthy: false, message });
    };
    const onAbort = (): void => {
      timer?.cancel();
      stop('aborted');
    };
    const timer = timeoutMs > 0 ? ctx.clock.setTimeout(() => stop(timeoutMessage), timeoutMs) : undefined;
    const settle: Settle = (result) => {
      if (done) return;
      done = true;
      timer?.cancel();
      ctx.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      abort = start(settle);
    } catch (err) {
      settle({ healthy: false, message: (err as Error).message });
    }
  });
}

function commandProbe(probe: Extract<HealthProbeSpec, { type: 'COMMAND' }>, ctx: ProbeContext, settle: Settle): () => void {
  const command = probe.command;
  const shell = command.shell !== false;
  const env = { ...ctx.env };
  for (const variable of command.environment?.variables ?? []) {
    if (variable.type !== 'SECRET' && variable.value !== undefined) env[variable.name] = variable.value;
  }
  const file = shell ? '/bin/sh' : command.value!;
  const args = shell ? ['-c', command.value!] : (command.arguments ?? []).slice(1);
  const argv0 = shell ? 'sh' : (command.arguments?.[0] ?? command.value!);
  const child = spawn(file, args, { argv0, cwd: ctx.cwd, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < 1024) stderr += chunk;
  });
  child.once('error', (err) => settle({ healthy: false, message: `Failed to create subprocess: ${err.message}` }));
  child.once('close', (code, signal) => {
    if (code === 0) settle({ healthy: true, message: 'Command exited with status 0' });
    else {
      const detail = stderr.trim() === '' ? '' : `: ${stderr.trim().slice(-200)}`;
      settle({ healthy: false, message: `Command returned ${describeEnding(code, signal).replace(/^Command /, '')}${detail}` });
    }
  });
  return () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
}

function httpProbe(probe: Extract<HealthProbeSpec, { type: 'HTTP' }>, settle: Settle): () => void {
  const host = probe.host.includes(':') ? `[${probe.host}]` : probe.host;
  let current: http.ClientRequest | undefined;
  let aborted = false;
  const get = (url: URL, redirectsLeft: number): void => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, { method: 'GET', agent: false, rejectUnauthorized: false, headers: { 'User-Agent': 'agora-health-check' } });
    current = req;
    req.once('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined && redirectsLeft > 0) {
        req.destroy();
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          settle({ healthy: false, message: `Bad redirect location '${location}'` });
          return;
        }
        if (!aborted) get(next, redirectsLeft - 1);
        return;
      }
      req.destroy();
      if (status >= 200 && status < 400) settle({ healthy: true, message: `HTTP ${status}` });
      else settle({ healthy: false, message: `Unexpected HTTP response code: ${status} ${http.STATUS_CODES[status] ?? ''}`.trimEnd() });
    });
    req.once('error', (err) => {
      if (!aborted) settle({ healthy: false, message: `GET ${url.href} failed: ${err.message}` });
    });
    req.end();
  };
  get(new URL(`${probe.scheme}://${host}:${probe.port}${probe.path}`), MAX_HTTP_REDIRECTS);
  return () => {
    aborted = true;
    current?.destroy();
  };
}

function tcpProbe(probe: Extract<HealthProbeSpec, { type: 'TCP' }>, settle: Settle): () => void {
  const socket = net.connect({ host: probe.host, port: probe.port });
  socket.once('connect', () => {
    socket.destroy();
    settle({ healthy: true, message: `Connected to ${probe.host}:${probe.port}` });
  });
  socket.once('error', (err) => {
    socket.destroy();
    settle({ healthy: false, message: `Failed to connect to ${probe.host}:${probe.port}: ${err.message}` });
  });
  return () => socket.destroy();
}

function formatSeconds(ms: number): string {
  return `${ms / 1000}secs`;
}
