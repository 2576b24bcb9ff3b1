/**
 * The scheduler call checks of master/scheduler-api/validate.ts that the hot path runs on
 * every call: the acknowledgement's UUID check counts base64 digits instead of decoding, so
 * it is held against Node's decoder over seeded random strings.
 */
import t from 'tap';
import { isUuidBase64, validateCall } from '../../master/scheduler-api/validate.js';

const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-';
/** Characters outside base64 that a client might send (padding in the middle, spaces, …). */
const OTHERS = '= .\n"\\é';

/** A small deterministic generator (LCG), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The definition the fast check replaced: base64 text that decodes to 16 bytes. */
function decodesToSixteenBytes(value: string): boolean {
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 16;
}

t.test('isUuidBase64 agrees with decoding over random strings of every length near a UUID', async (t) => {
  const random = rng(6);
  let accepted = 0;
  let disagreements = 0;
  for (let i = 0; i < 20000; i++) {
    const length = Math.floor(random() * 30);
    let value = '';
    for (let j = 0; j < length; j++) {
      const pool = random() < 0.03 ? OTHERS : DIGITS;
      value += pool[Math.floor(random() * pool.length)];
    }
    value += '='.repeat(Math.floor(random() * 4));
    const expected = decodesToSixteenBytes(value);
    if (isUuidBase64(value) !== expected) {
      disagreements++;
      t.fail(`disagrees on ${JSON.stringify(value)}: expected ${expected}`);
    }
    if (expected) accepted++;
  }
  t.equal(disagreements, 0);
  t.ok(accepted > 100, `enough valid UUIDs in the sample (${accepted})`);
});

t.test('isUuidBase64 on the forms frameworks send', async (t) => {
  const uuid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  t.ok(isUuidBase64(uuid.toString('base64')), 'standard, padded');
  t.ok(isUuidBase64(uuid.toString('base64').replace(/=+$/, '')), 'standard, unpadded');
  t.ok(isUuidBase64(uuid.toString('base64url')), 'URL-safe');
  t.notOk(isUuidBase64(Buffer.alloc(15).toString('base64')), '15 bytes');
  t.notOk(isUuidBase64(Buffer.alloc(17).toString('base64')), '17 bytes');
  t.notOk(isUuidBase64(''), 'empty');
  t.notOk(isUuidBase64('AAAAAAAAAAA=AAAAAAAAAAA'), 'padding inside');
  t.notOk(isUuidBase64('AAAAAAAAAAAAAAAAAAAAAA==='), 'three padding characters');
});

t.test('an ACKNOWLEDGE with a bad uuid is refused with the same message', async (t) => {
  const call = (uuid: string): Parameters<typeof validateCall>[0] => ({
    type: 'ACKNOWLEDGE',
    framework_id: { value: 'fw-1' },
    acknowledge: { agent_id: { value: 'a-1' }, task_id: { value: 't-1' }, uuid },
  });
  t.equal(validateCall(call('AAAAAAAAAAAAAAAAAAAAAA==')), undefined);
  t.equal(validateCall(call('not-a-uuid')), "Failed to parse UUID from 'not-a-uuid': not 16 bytes of base64");
  t.equal(validateCall(call('AAAAAAAAAAAAAAAAAAAAAAAA')), "Failed to parse UUID from 'AAAAAAAAAAAAAAAAAAAAAAAA': not 16 bytes of base64");
});
