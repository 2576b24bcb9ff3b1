/**
 * How ZkMarathonStore lays a value out in znodes (pure): plain JSON up to the limit, gzip
 * above it, chunks plus a manifest when even the gzip is too big; and back.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { decodePayload, encodeValue, manifestOf, znodeNameOf } from '../../frameworks/marathon/engine/zk-store.js';

t.test('small values are plain JSON', async (t) => {
  const enc = encodeValue({ a: 1 }, 100);
  t.equal(enc.node.toString(), '{"a":1}');
  t.same(enc.chunks, []);
  t.equal(manifestOf(enc.node), undefined);
  t.same(decodePayload(enc.node), { a: 1 });
  t.same(decodePayload(encodeValue('fw-1', 100).node), 'fw-1', 'a JSON string (the framework id)');
});

t.test('values over the limit are gzipped when that is enough', async (t) => {
  const value = { blob: 'x'.repeat(10_000) };
  const enc = encodeValue(value, 1000);
  t.same([...enc.node.subarray(0, 2)], [0x1f, 0x8b]);
  t.ok(enc.node.length <= 1000);
  t.same(enc.chunks, []);
  t.same(decodePayload(enc.node), value);
});

t.test('values too big even gzipped are chunked, with a manifest', async (t) => {
  const value = { blob: randomBytes(30_000).toString('base64') };
  const enc = encodeValue(value, 4096, () => 'gen1');
  t.ok(enc.chunks.length > 1);
  t.ok(enc.chunks.every((c) => c.length <= 4096), 'every chunk within the limit');
  const m = manifestOf(enc.node)!;
  t.same(m, { gen: 'gen1', count: enc.chunks.length, bytes: Buffer.concat(enc.chunks).length });
  t.same(decodePayload(Buffer.concat(enc.chunks)), value, 'the chunks concatenated are the value');
});

t.test('a malformed manifest is a clear error', async (t) => {
  t.throws(() => manifestOf(Buffer.from('AGORA-CHUNKS\n{"gen":1}')), { code: 'AGORA_MARATHON_STORE_CORRUPT' });
});

t.test('znode names escape / and .', async (t) => {
  t.equal(znodeNameOf('/prod/web.v2'), '%2Fprod%2Fweb%2Ev2');
  t.equal(znodeNameOf('..'), '%2E%2E');
});
