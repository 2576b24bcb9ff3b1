import t from 'tap';
import { AgoraError } from '../../sdk/core/errors.js';
import { DEFAULT_MAX_RECORD_BYTES, RecordIODecoder, encodeRecord } from '../../sdk/protocol/recordio.js';

const RECORDS = [
  '{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f-1"}}}',
  'héllo',
  '',
  'emoji 😀🎉 and a ZWJ family 👩‍👩‍👧',
  '中文字符 日本語 한국어',
  'x',
  '',
];

function encodeAll(records: readonly string[]): Buffer {
  return Buffer.concat(records.map((r) => encodeRecord(r)));
}

/** Decodes `bytes` fed as the given chunks (split at `cuts`, sorted offsets) and checks the decoder ends idle. */
function decodeWithCuts(bytes: Buffer, cuts: readonly number[]): { records: string[]; idle: boolean } {
  const decoder = new RecordIODecoder();
  const records: string[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    records.push(...decoder.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return { records, idle: decoder.idle };
}

function expectMalformed(t: Pick<typeof import('tap').t, 'fail' | 'ok' | 'equal'>, fn: () => unknown, label: string): void {
  try {
    fn();
    t.fail(`${label}: expected AGORA_RECORDIO_MALFORMED`);
  } catch (err) {
    t.ok(err instanceof AgoraError, `${label}: AgoraError`);
    t.equal((err as AgoraError).code, 'AGORA_RECORDIO_MALFORMED', `${label}: code`);
  }
}

t.test('encodeRecord frames with the byte length, not the character count', async (t) => {
  t.equal(encodeRecord('héllo').toString('utf8'), '6\nhéllo');
  t.equal(encodeRecord('😀').toString('utf8'), '4\n😀');
  t.equal(encodeRecord('中').toString('utf8'), '3\n中');
  t.equal(encodeRecord('').toString('utf8'), '0\n');
  t.strictSame([...encodeRecord(new Uint8Array([0x7b, 0x7d]))], [0x32, 0x0a, 0x7b, 0x7d], 'bytes are framed as-is');
});

t.test('all records in one chunk', async (t) => {
  const decoder = new RecordIODecoder();
  t.strictSame(decoder.push(encodeAll(RECORDS)), RECORDS);
  t.ok(decoder.idle);
  t.strictSame(decoder.push(Buffer.alloc(0)), [], 'an empty chunk yields nothing');
});

t.test('every single split point gives the same records', async (t) => {
  const bytes = encodeAll(RECORDS);
  let agreed = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const { records, idle } = decodeWithCuts(bytes, [i]);
    if (JSON.stringify(records) === JSON.stringify(RECORDS) && idle) agreed++;
    else t.strictSame(records, RECORDS, `split at ${i}`);
  }
  t.equal(agreed, bytes.length + 1, `all ${bytes.length + 1} split points agree`);
});

t.test('every pair of split points on a short stream gives the same records', async (t) => {
  const short = ['é', '', '😀', '中'];
  const bytes = encodeAll(short);
  let agreed = 0;
  let total = 0;
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      total++;
      const { records, idle } = decodeWithCuts(bytes, [i, j]);
      if (JSON.stringify(records) === JSON.stringify(short) && idle) agreed++;
      else t.strictSame(records, short, `splits at ${i},${j}`);
    }
  }
  t.equal(agreed, total, `all ${total} split pairs agree`);
});

t.test('byte by byte', async (t) => {
  const bytes = encodeAll(RECORDS);
  const decoder = new RecordIODecoder();
  const records: string[] = [];
  for (let i = 0; i < bytes.length; i++) records.push(...decoder.push(bytes.subarray(i, i + 1)));
  t.strictSame(records, RECORDS);
  t.ok(decoder.idle);
});

t.test('plain Uint8Array views (with a byte offset) are read correctly', async (t) => {
  const bytes = encodeAll(['héllo', '😀']);
  const backing = new Uint8Array(bytes.length + 10);
  backing.set(bytes, 5);
  const view = new Uint8Array(backing.buffer, 5, bytes.length);
  t.strictSame(new RecordIODecoder().push(view), ['héllo', '😀']);
});

t.test('random chunkings (seeded) agree', async (t) => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = ['a', 'é', '😀', '中', '"', '\n', '0', ' '];
  const records = Array.from({ length: 40 }, () => Array.from({ length: Math.floor(rand() * 30) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''));
  const bytes = encodeAll(records);
  let agreed = 0;
  for (let iter = 0; iter < 100; iter++) {
    const cuts = Array.from({ length: Math.floor(rand() * 20) }, () => Math.floor(rand() * (bytes.length + 1))).sort((x, y) => x - y);
    const { records: got, idle } = decodeWithCuts(bytes, cuts);
    if (JSON.stringify(got) === JSON.stringify(records) && idle) agreed++;
    else t.strictSame(got, records, `cuts ${cuts.join(',')}`);
  }
  t.equal(agreed, 100);
});

t.test('malformed headers throw AGORA_RECORDIO_MALFORMED', async (t) => {
  for (const [label, bytes] of [
    ['letters', 'abc\n'],
    ['empty header', '\n'],
    ['digits then letter', '12x\n'],
    ['negative', '-1\n'],
    ['leading space', ' 5\nhello'],
    ['JSON without a header', '{"type":"HEARTBEAT"}'],
    ['CRLF', '5\r\nhello'],
    ['more than 20 digits', `${'1'.repeat(21)}\n`],
    ['garbage after a good record', '2\n{}x'],
  ] as const) {
    expectMalformed(t, () => new RecordIODecoder().push(Buffer.from(bytes, 'utf8')), label);
  }
  t.test('a header split across chunks is still checked', async (t) => {
    const decoder = new RecordIODecoder();
    t.strictSame(decoder.push(Buffer.from('1')), []);
    expectMalformed(t, () => decoder.push(Buffer.from('a\n')), 'split header');
  });
});

t.test('oversize records are refused at the header', async (t) => {
  const decoder = new RecordIODecoder({ maxRecordBytes: 10 });
  t.strictSame(decoder.push(Buffer.from('10\n0123456789')), ['0123456789'], 'exactly the limit is accepted');
  expectMalformed(t, () => decoder.push(Buffer.from('11\n')), 'one byte over');
  expectMalformed(t, () => new RecordIODecoder().push(Buffer.from(`${DEFAULT_MAX_RECORD_BYTES + 1}\n`)), 'over the default limit');
  expectMalformed(t, () => new RecordIODecoder().push(Buffer.from(`${'9'.repeat(20)}\n`)), '20-digit length');
  t.throws(() => new RecordIODecoder({ maxRecordBytes: 10 }).push(Buffer.from('11\n')), { code: 'AGORA_RECORDIO_MALFORMED', message: /11 bytes exceeds 10/ });
});

t.test('idle is true only between records', async (t) => {
  const decoder = new RecordIODecoder();
  t.ok(decoder.idle, 'fresh decoder');
  decoder.push(Buffer.from('1'));
  t.notOk(decoder.idle, 'inside a header');
  decoder.push(Buffer.from('2\n'));
  t.notOk(decoder.idle, 'header read, no body yet');
  decoder.push(Buffer.from('héllo'));
  t.notOk(decoder.idle, 'part of the body');
  t.strictSame(decoder.push(Buffer.from('world!')), ['hélloworld!'], 'completes at 12 bytes');
  t.ok(decoder.idle, 'record complete');
  t.strictSame(decoder.push(Buffer.from('0\n3')), [''], 'an empty record, then the start of a header');
  t.notOk(decoder.idle, 'a new header has begun');
  t.strictSame(decoder.push(Buffer.from('\nabc')), ['abc']);
  t.ok(decoder.idle);
});
