/**
 * Status update uuids: 16 random bytes, base64, as Mesos sends `TaskStatus.uuid` (the bytes
 * of a version 4 UUID, `UUID::random()`). Drawn through `crypto.randomUUID`, which takes its
 * randomness from a cached pool, instead of `randomBytes(16)`, which asks the system for each
 * one: that call was a visible share of a slave sending thousands of updates a second.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';

/** A random version 4 UUID's 16 bytes, base64 (24 characters). */
export function randomUuidBase64(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64');
}
