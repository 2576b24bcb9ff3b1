/**
 * The text of a received WebSocket message, as `ws` hands it over (a Buffer with the default
 * `binaryType`, fragments as a list, or an ArrayBuffer). A Buffer is decoded where it lies:
 * `Buffer.from(buffer)` would copy every frame first, for nothing.
 *
 * @module
 */
import type { RawData } from 'ws';

export function wsText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
