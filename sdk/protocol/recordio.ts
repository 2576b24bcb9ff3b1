/**
 * RecordIO framing as Mesos streams it: each record is `<decimal byte length>\n<bytes>`.
 *
 * The decoder is a byte state machine fed arbitrary chunks (a record split across chunks,
 * many records in one chunk, a multi-byte UTF-8 character split between chunks); it only
 * decodes UTF-8 once a whole record's bytes are in, so characters are never cut.
 *
 * @module
 */
import { AgoraError } from '../core/errors.js';

/** Frames one record. The result is one buffer, so a record goes out in a single write. */
export function encodeRecord(record: string | Uint8Array): Buffer {
  const body = typeof record === 'string' ? Buffer.from(record, 'utf8') : Buffer.from(record);
  const header = Buffer.from(`${body.length}\n`, 'ascii');
  return Buffer.concat([header, body], header.length + body.length);
}

/** Largest record the decoder accepts by default (Mesos has no limit; we need one). */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Incremental RecordIO decoder: `push(chunk)` returns the records completed by that chunk. */
export class RecordIODecoder {
  private readonly maxRecordBytes: number;
  /** Digits of the length header read so far (at most 20, fits any sane length). */
  private header = '';
  /** Bytes still expected for the current record, or -1 while reading a header. */
  private remaining = -1;
  private parts: Buffer[] = [];

  constructor(options: { maxRecordBytes?: number } = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  /** Feeds bytes; returns every record (decoded as UTF-8) the bytes completed. Throws `AGORA_RECORDIO_MALFORMED` on a bad header. */
  push(chunk: Uint8Array): string[] {
    const records: string[] = [];
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    while (i < buf.length) {
      if (this.remaining < 0) {
        const byte = buf[i++]!;
        if (byte === 0x0a) {
          if (this.header.length === 0) throw new AgoraError('AGORA_RECORDIO_MALFORMED', 'empty RecordIO length header');
          const length = Number(this.header);
          this.header = '';
          if (length > this.maxRecordBytes) {
            throw new AgoraError('AGORA_RECORDIO_MALFORMED', `RecordIO record of ${length} bytes exceeds ${this.maxRecordBytes}`);
          }
          this.remaining = length;
          if (length === 0) {
            records.push('');
            this.remaining = -1;
          }
        } else if (byte >= 0x30 && byte <= 0x39 && this.header.length < 20) {
          this.header += String.fromCharCode(byte);
        } else {
          throw new AgoraError('AGORA_RECORDIO_MALFORMED', `unexpected byte 0x${byte.toString(16)} in RecordIO length header`);
        }
      } else {
        const take = Math.min(this.remaining, buf.length - i);
        if (take === this.remaining && this.parts.length === 0) {
          // The whole record is in this chunk (the usual case): decoded straight from it,
          // without a subarray and a concatenated copy per record.
          records.push(buf.toString('utf8', i, i + take));
          i += take;
          this.remaining = -1;
          continue;
        }
        this.parts.push(buf.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          records.push(Buffer.concat(this.parts).toString('utf8'));
          this.parts = [];
          this.remaining = -1;
        }
      }
    }
    return records;
  }

  /** True when no partial record is buffered (a clean end of stream). */
  get idle(): boolean {
    return this.remaining < 0 && this.header.length === 0;
  }
}
