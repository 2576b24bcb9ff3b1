/**
 * The Marathon event bus (what /v2/events streams): listeners get every event in order;
 * a listener that throws is logged and does not stop the others.
 *
 * @module
 */
import type { Logger } from '../../../sdk/core/log.js';
import type { MarathonEvent } from '../model/types.js';

export class EventBus {
  private readonly listeners = new Set<(event: MarathonEvent) => void>();

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: (event: MarathonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  publish(event: MarathonEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.logger.warn({ err, eventType: event.eventType }, 'event listener failed');
      }
    }
  }
}
