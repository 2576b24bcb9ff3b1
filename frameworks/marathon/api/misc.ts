/**
 * /ping, /metrics (Marathon 1.10's Dropwizard JSON) and /metrics/prometheus.
 *
 * @module
 */
import { Router } from 'express';
import { ApiContext, handle } from './context.js';

/**
 * Splits the service's flat metrics into Dropwizard's JSON (SystemResource /metrics):
 * names ending in `counter` (or `.count`) are counters (`{count}`), the rest gauges (`{value}`).
 */
export function renderMetrics(metrics: Record<string, number>): Record<string, unknown> {
  const counters: Record<string, { count: number }> = {};
  const gauges: Record<string, { value: number }> = {};
  for (const [name, value] of Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b))) {
    if (/(^|[._])counter$|\.count$/.test(name)) counters[name] = { count: value };
    else gauges[name] = { value };
  }
  return { version: '4.0.0', counters, gauges, histograms: {}, meters: {}, timers: {} };
}

/** A metric name in Prometheus's alphabet. */
export function prometheusName(name: string): string {
  const n = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[a-zA-Z_:]/.test(n) ? n : `_${n}`;
}

/** Prometheus text exposition of the service's metrics. */
export function renderPrometheus(metrics: Record<string, number>): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b))) {
    const n = prometheusName(name);
    const counter = /(^|[._])counter$|\.count$/.test(name);
    lines.push(`# TYPE ${n} ${counter ? 'counter' : 'gauge'}`);
    lines.push(`${n} ${Number.isFinite(value) ? value : 0}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** /ping and /metrics (mount at `/`). */
export function miscRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/ping', (_req, res) => {
    res.type('text/plain').send('pong');
  });
  router.get('/metrics', handle((_req, res) => {
    res.json(renderMetrics(ctx.service.metrics()));
  }));
  router.get('/metrics/prometheus', handle((_req, res) => {
    res.type('text/plain; version=0.0.4').send(renderPrometheus(ctx.service.metrics()));
  }));
  return router;
}
