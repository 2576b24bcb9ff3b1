/**
 * JSON text of strings without the escaping pass when none is needed: ids, uuids and states
 * are printable ASCII, which `JSON.stringify` writes unchanged between quotes. Templates of
 * hot messages (an acknowledgement, an UPDATE event) use it and stay byte for byte what
 * `JSON.stringify` writes.
 *
 * @module
 */

/** Printable ASCII but `"` and `\`: written between quotes as it is, one byte a character. */
export const PLAIN_JSON_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `JSON.stringify(value)` for a string: quoted as it is when nothing in it needs escaping. */
export function jsonString(value: string): string {
  return PLAIN_JSON_ASCII.test(value) ? `"${value}"` : JSON.stringify(value);
}
