/**
 * The launch queue's bookkeeping: the launch delay (backoff) per app, and the processed
 * offers summary per queue entry (/v2/queue). Which instances wait is not kept here: they
 * are the tracker's instances in condition `Scheduled`.
 *
 * @module
 */
import { backoffAfterFailure, launchDelayRemainingMs, NO_MATCH_REASONS, queueDelay, type BackoffState } from '../launch/index.js';
import type { AppDefinition, Instance, PathId, QueueEntry } from '../model/types.js';
import { isoOf } from './time.js';

interface OfferSummary {
  processedOffersCount: number;
  unusedOffersCount: number;
  lastUnusedOfferAt?: number;
  lastUsedOfferAt?: number;
  /** Declines per reason over all processed offers. */
  declined: Map<string, number>;
}

export class LaunchQueue {
  private readonly backoff = new Map<PathId, BackoffState>();
  private readonly summaries = new Map<PathId, OfferSummary>();

  /** Milliseconds before the app may launch again (0 = now). */
  delayRemainingMs(app: AppDefinition, nowMs: number): number {
    const state = this.backoff.get(app.id);
    return state === undefined ? 0 : Math.max(0, launchDelayRemainingMs(state, app, nowMs));
  }

  /** A task of the app failed: the next launch waits longer (backoffSeconds × backoffFactor^n, capped). */
  recordFailure(app: AppDefinition, nowMs: number): void {
    this.backoff.set(app.id, backoffAfterFailure(this.backoff.get(app.id), app, nowMs));
  }

  /** DELETE /v2/queue/{id}/delay. */
  resetDelay(appId: PathId): void {
    this.backoff.delete(appId);
  }

  /** The app is gone: forget its delay and counters. */
  forget(appId: PathId): void {
    this.backoff.delete(appId);
    this.summaries.delete(appId);
  }

  /** Counts one offer processed for the app. */
  recordOffer(appId: PathId, used: boolean, reasons: readonly string[], nowMs: number): void {
    const s = this.summaries.get(appId) ?? { processedOffersCount: 0, unusedOffersCount: 0, declined: new Map<string, number>() };
    this.summaries.set(appId, s);
    s.processedOffersCount++;
    if (used) s.lastUsedOfferAt = nowMs;
    else {
      s.unusedOffersCount++;
      s.lastUnusedOfferAt = nowMs;
      for (const r of new Set(reasons)) s.declined.set(r, (s.declined.get(r) ?? 0) + 1);
    }
  }

  /** The app's queue is empty: its summary starts over next time (Marathon keeps it per queue entry). */
  clearSummary(appId: PathId): void {
    this.summaries.delete(appId);
  }

  /** One /v2/queue entry per app with scheduled instances or a pending delay. */
  entry(app: AppDefinition, scheduled: readonly Instance[], nowMs: number, sinceMs: number): QueueEntry {
    const s = this.summaries.get(app.id);
    const processed = s?.processedOffersCount ?? 0;
    const rejects = NO_MATCH_REASONS.map((reason) => ({ reason, declined: s?.declined.get(reason) ?? 0, processed }));
    return {
      app,
      count: scheduled.length,
      role: app.role ?? '*',
      delay: queueDelay(this.backoff.get(app.id), app, nowMs),
      since: isoOf(sinceMs),
      processedOffersSummary: {
        processedOffersCount: processed,
        unusedOffersCount: s?.unusedOffersCount ?? 0,
        ...(s?.lastUnusedOfferAt !== undefined ? { lastUnusedOfferAt: isoOf(s.lastUnusedOfferAt) } : {}),
        ...(s?.lastUsedOfferAt !== undefined ? { lastUsedOfferAt: isoOf(s.lastUsedOfferAt) } : {}),
        rejectSummaryLastOffers: rejects,
        rejectSummaryLaunchAttempt: rejects,
      },
    };
  }
}
