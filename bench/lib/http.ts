/**
 * HTTP from a bench: JSON GETs and timed GETs (latency of whole responses, body read).
 *
 * @module
 */
import { msSince } from './stats.js';

/** GET (or any method) → status and parsed JSON body (undefined for an empty body). */
export async function fetchJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, headers: { 'Content-Type': 'application/json', ...(init?.headers ?? {}) } });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/**
 * Times `count` sequential GETs of `url` (ms each, body fully read), stopping early at
 * `deadline` (epoch ms; at least one request is made). A non-200 answer fails the bench.
 */
export async function timeGets(url: string, count: number, deadline: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < count && (out.length === 0 || Date.now() < deadline)) {
    const started = process.hrtime.bigint();
    const res = await fetch(url);
    await res.arrayBuffer();
    const ms = msSince(started);
    if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}`);
    out.push(ms);
  }
  return out;
}

/** A figure of the master's /metrics/snapshot (undefined when absent or unreachable). */
export async function masterMetric(masterUrl: string, name: string): Promise<number | undefined> {
  try {
    const { status, body } = await fetchJson(`${masterUrl}/metrics/snapshot`);
    const v = status === 200 ? (body as Record<string, unknown>)[name] : undefined;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}
