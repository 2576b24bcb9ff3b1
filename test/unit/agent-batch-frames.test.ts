/**
 * Batch frames of the agent protocol (sdk/protocol/agent.ts) and the per-turn batcher that
 * builds them (sdk/core/frame-batcher.ts): joining, parsing back in order, rejecting a bad
 * batch whole, and the batcher's limits.
 */
import t from 'tap';
import { FrameBatcher } from '../../sdk/core/frame-batcher.js';
import {
  MAX_BATCH_MESSAGES, batchFrame, parseAgentFrame, parseMasterFrame, type AgentMessage, type MasterMessage,
} from '../../sdk/protocol/agent.js';

const ack: MasterMessage = { type: 'status_update_ack', framework_id: { value: 'f' }, task_id: { value: 't' }, uuid: 'u' };
const update: AgentMessage = { type: 'status_update', update: { framework_id: { value: 'f' }, status: { task_id: { value: 't' }, state: 'TASK_RUNNING', uuid: 'u' } } };

/** Resolves after the current turn's immediates (the batcher flushes in one). */
const afterTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('batchFrame: one frame is itself; several become one batch that parses back in order', async (t) => {
  const one = JSON.stringify(ack);
  t.equal(batchFrame([one]), one);
  const frames = [JSON.stringify({ type: 'ping' }), one, JSON.stringify({ ...ack, uuid: 'v' })];
  const joined = batchFrame(frames);
  t.same(JSON.parse(joined), { type: 'batch', messages: frames.map((f) => JSON.parse(f)) });
  const parsed = parseMasterFrame(joined);
  t.ok(parsed.ok);
  if (parsed.ok) t.same(parsed.message.map((m) => (m.type === 'status_update_ack' ? m.uuid : m.type)), ['ping', 'u', 'v']);
  // A lone message parses to a list of one.
  const lone = parseAgentFrame(JSON.stringify(update));
  t.ok(lone.ok && lone.message.length === 1 && lone.message[0]!.type === 'status_update');
});

t.test('a bad batch is refused whole, with the index of the bad message', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['empty', { type: 'batch', messages: [] }, /a batch holds 1 to/],
    ['not an array', { type: 'batch', messages: { 0: update } }, /a batch holds 1 to/],
    ['missing', { type: 'batch' }, /a batch holds 1 to/],
    ['too many', { type: 'batch', messages: new Array(MAX_BATCH_MESSAGES + 1).fill({ type: 'pong' }) }, /a batch holds 1 to/],
    ['nested', { type: 'batch', messages: [{ type: 'pong' }, { type: 'batch', messages: [{ type: 'pong' }] }] }, /batch message 1: batches do not nest/],
    ['invalid member', { type: 'batch', messages: [update, { type: 'status_update' }] }, /batch message 1: /],
    ['null member', { type: 'batch', messages: [null] }, /batch message 0: /],
    ['wrong direction', { type: 'batch', messages: [{ type: 'ping' }] }, /batch message 0: /],
  ];
  for (const [label, frame, error] of cases) {
    const r = parseAgentFrame(JSON.stringify(frame));
    t.notOk(r.ok, `${label}: refused`);
    if (!r.ok) t.match(r.error, error, `${label}: says why`);
  }
  const malformed = parseAgentFrame('{"type":"batch","messages":[');
  t.notOk(malformed.ok, 'malformed JSON is refused');
  if (!malformed.ok) t.match(malformed.error, /malformed JSON/);
  t.equal(parseAgentFrame(JSON.stringify({ type: 'batch', messages: new Array(MAX_BATCH_MESSAGES).fill({ type: 'pong' }) })).ok, true, 'the largest batch is accepted');
});

t.test('FrameBatcher: the frames of one turn leave as one, in order; the next turn starts afresh', async (t) => {
  const sent: string[] = [];
  const batcher = new FrameBatcher({ send: (f) => sent.push(f), join: batchFrame, maxChars: 1_000_000, maxMessages: 100 });
  batcher.push('{"type":"pong"}');
  batcher.push(JSON.stringify(update));
  t.same(sent, [], 'nothing before the end of the turn');
  await afterTurn();
  t.equal(sent.length, 1);
  const parsed = parseAgentFrame(sent[0]!);
  t.ok(parsed.ok && parsed.message.map((m) => m.type).join() === 'pong,status_update');
  batcher.push('{"type":"pong"}');
  await afterTurn();
  t.same(sent.slice(1), ['{"type":"pong"}'], 'a lone message goes as itself');
  await afterTurn();
  t.equal(sent.length, 2, 'an idle turn sends nothing');
});

t.test('FrameBatcher: a frame is cut at the character and message limits; discard drops the queue', async (t) => {
  const sent: string[] = [];
  const batcher = new FrameBatcher({ send: (f) => sent.push(f), join: (fs) => fs.join('|'), maxChars: 10, maxMessages: 3 });
  for (const f of ['aaaa', 'bbbb', 'cccc', 'dd']) batcher.push(f);
  t.same(sent, ['aaaa|bbbb'], 'the third would pass 10 characters: the first two leave at once');
  batcher.push('e');
  batcher.push('f');
  t.same(sent, ['aaaa|bbbb', 'cccc|dd|e'], 'three messages make a full frame');
  await afterTurn();
  t.same(sent, ['aaaa|bbbb', 'cccc|dd|e', 'f']);
  batcher.push('lost');
  batcher.discard();
  await afterTurn();
  t.equal(sent.length, 3, 'discarded frames are not sent');
});
