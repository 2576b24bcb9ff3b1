/**
 * `TaskInfo.health_check` (Mesos v1 `HealthCheck`) compiled for the command executor (pure).
 * `sdk/protocol/mesos.ts` keeps the message opaque (passthrough); this module reads it with
 * Mesos's defaults (mesos.proto: delay 15 s, interval 10 s, timeout 20 s, 3 consecutive
 * failures, grace 10 s) and Mesos's validation (src/checks/health_checker.cpp
 * `validation::healthCheck`), turning seconds into milliseconds once, at the edge.
 *
 * @module
 */
import { z } from 'zod';
import { CommandInfo } from '../../sdk/protocol/mesos.js';

const seconds = (defaultValue: number) => z.number().min(0).default(defaultValue);
const port = z.number().int().min(0).max(65535);
/** Mesos `NetworkInfo.Protocol`; IPv6 checks go to ::1 instead of 127.0.0.1. */
const ipProtocol = z.enum(['IPv4', 'IPv6']).optional();

/** The part of Mesos's `HealthCheck` the command executor reads; other fields are ignored. */
export const HealthCheckJson = z.object({
  type: z.enum(['UNKNOWN', 'COMMAND', 'HTTP', 'TCP']).optional(),
  command: CommandInfo.optional(),
  http: z.object({
    scheme: z.string().optional(),
    port,
    path: z.string().optional(),
    /** Deprecated in Mesos and ignored by its checker: 200–399 is healthy. */
    statuses: z.array(z.number().int()).optional(),
    protocol: ipProtocol,
  }).optional(),
  tcp: z.object({ port, protocol: ipProtocol }).optional(),
  delay_seconds: seconds(15),
  interval_seconds: seconds(10),
  timeout_seconds: seconds(20),
  consecutive_failures: z.number().int().min(0).default(3),
  grace_period_seconds: seconds(10),
});

/** What to probe. */
export type HealthProbeSpec =
  | { type: 'COMMAND'; command: CommandInfo }
  | { type: 'HTTP'; scheme: 'http' | 'https'; host: string; port: number; path: string }
  | { type: 'TCP'; host: string; port: number };

/** A compiled health check: the probe plus its timing, in milliseconds. */
export interface HealthCheckSpec {
  probe: HealthProbeSpec;
  /** Before the first check, counted from the task's start. */
  delayMs: number;
  /** Between the end of one check and the start of the next. */
  intervalMs: number;
  /** A check not done by then fails; 0 = no timeout (Mesos). */
  timeoutMs: number;
  /** Failures in a row that kill the task; 0 = never kill (Marathon's maxConsecutiveFailures 0). */
  consecutiveFailures: number;
  /** Failures before the first success within this time of the task's start are ignored; 0 = none. */
  gracePeriodMs: number;
}

export type HealthCheckParse = { ok: true; spec: HealthCheckSpec } | { ok: false; error: string };

/**
 * Validates and compiles a task's `health_check`. Errors use Mesos's wording, e.g.
 * "Expecting 'http' to be set for HTTP health check".
 */
export function parseHealthCheck(raw: unknown): HealthCheckParse {
  const parsed = HealthCheckJson.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `${issue.path.join('.') || 'health_check'}: ${issue.message}` };
  }
  const check = parsed.data;
  const timing = {
    delayMs: check.delay_seconds * 1000,
    intervalMs: check.interval_seconds * 1000,
    timeoutMs: check.timeout_seconds * 1000,
    consecutiveFailures: check.consecutive_failures,
    gracePeriodMs: check.grace_period_seconds * 1000,
  };
  switch (check.type) {
    case undefined:
      return { ok: false, error: "HealthCheck must specify 'type'" };
    case 'COMMAND': {
      if (check.command === undefined) return { ok: false, error: "Expecting 'command' to be set for command health check" };
      if (check.command.value === undefined) {
        const what = check.command.shell !== false ? "'shell command'" : "'executable path'";
        return { ok: false, error: `Command health check must contain ${what}` };
      }
      return { ok: true, spec: { probe: { type: 'COMMAND', command: check.command }, ...timing } };
    }
    case 'HTTP': {
      const http = check.http;
      if (http === undefined) return { ok: false, error: "Expecting 'http' to be set for HTTP health check" };
      const scheme = http.scheme ?? 'http';
      if (scheme !== 'http' && scheme !== 'https') return { ok: false, error: `Unsupported HTTP health check scheme: '${scheme}'` };
      if (http.path !== undefined && !http.path.startsWith('/')) {
        return { ok: false, error: `The path '${http.path}' of HTTP health check must start with '/'` };
      }
      return { ok: true, spec: { probe: { type: 'HTTP', scheme, host: hostFor(http.protocol), port: http.port, path: http.path ?? '' }, ...timing } };
    }
    case 'TCP': {
      if (check.tcp === undefined) return { ok: false, error: "Expecting 'tcp' to be set for TCP health check" };
      return { ok: true, spec: { probe: { type: 'TCP', host: hostFor(check.tcp.protocol), port: check.tcp.port }, ...timing } };
    }
    default:
      return { ok: false, error: `'${check.type}' is not a valid health check type` };
  }
}

function hostFor(protocol: 'IPv4' | 'IPv6' | undefined): string {
  return protocol === 'IPv6' ? '::1' : '127.0.0.1';
}
