import t from 'tap';
import { contenderPosition, joinZkPath, memberSequence, parseZkUrl, redactZkUrl, sortMembers } from '../../sdk/zk/index.js';
import { SerialTask } from '../../sdk/zk/serial.js';

t.test('parseZkUrl: valid URLs', async (t) => {
  t.same(parseZkUrl('zk://h1:2181,h2:2182/agora'), { servers: 'h1:2181,h2:2182', path: '/agora' });
  t.same(parseZkUrl('zk://h1/agora/masters'), { servers: 'h1:2181', path: '/agora/masters' });
  t.same(parseZkUrl('zk://127.0.0.1:2181'), { servers: '127.0.0.1:2181', path: '/' });
  t.same(parseZkUrl('zk://127.0.0.1:2181/'), { servers: '127.0.0.1:2181', path: '/' });
  t.same(parseZkUrl('zk://user:pa:ss@h1:1,h2/x'), { servers: 'h1:1,h2:2181', path: '/x', auth: 'user:pa:ss' });
  t.same(parseZkUrl('zk://[::1]:2181,[fe80::1]/m'), { servers: '[::1]:2181,[fe80::1]:2181', path: '/m' });
});

t.test('parseZkUrl: invalid URLs are refused with AGORA_ZK_URL_INVALID', async (t) => {
  for (const bad of [
    'http://h1:2181/agora',
    'h1:2181/agora',
    'zk://',
    'zk:///agora',
    'zk://h1:2181,,h2/agora',
    'zk://h1:0/agora',
    'zk://h1:65536/agora',
    'zk://h1:abc/agora',
    'zk://h_1/agora',
    'zk://h1/agora/',
    'zk://h1/a//b',
    'zk://h1/a/../b',
    'zk://user@h1/agora',
    'zk://:pw@h1/agora',
    'zk://user:@h1/agora',
    'zk://h1/a b',
    'zk://[::1/agora',
  ]) {
    t.throws(() => parseZkUrl(bad), { code: 'AGORA_ZK_URL_INVALID' }, bad);
  }
  t.throws(() => parseZkUrl(undefined as unknown as string), { code: 'AGORA_ZK_URL_INVALID' });
  try {
    parseZkUrl('zk://u:secret@h1/a/');
  } catch (err) {
    t.notMatch((err as Error).message, /secret/, 'the password is not in the message');
  }
});

t.test('redact and joinZkPath', async (t) => {
  t.equal(redactZkUrl('zk://u:secret@h1/a'), 'zk://u:***@h1/a');
  t.equal(redactZkUrl('zk://h1/a'), 'zk://h1/a');
  t.equal(joinZkPath('/', 'a'), '/a');
  t.equal(joinZkPath('/agora', 'registry', '/x/'), '/agora/registry/x');
  t.equal(joinZkPath('/agora'), '/agora');
  t.equal(joinZkPath('/'), '/');
});

t.test('group: members sorted by sequence, others ignored', async (t) => {
  const kids = ['json.info_0000000010', 'log_replicas', 'json.info_0000000002', 'json.info_x', 'json.info_0000000009'];
  t.equal(memberSequence('json.info_0000000010', 'json.info_'), 10);
  t.equal(memberSequence('log_replicas', 'json.info_'), undefined);
  t.same(sortMembers(kids, 'json.info_'), ['json.info_0000000002', 'json.info_0000000009', 'json.info_0000000010']);
  t.same(contenderPosition(kids, 'json.info_', 'json.info_0000000002'), { kind: 'leader' });
  t.same(contenderPosition(kids, 'json.info_', 'json.info_0000000010'), { kind: 'follower', watch: 'json.info_0000000009' });
  t.same(contenderPosition(kids, 'json.info_', 'json.info_0000000009'), { kind: 'follower', watch: 'json.info_0000000002' });
  t.same(contenderPosition(kids, 'json.info_', 'json.info_0000000003'), { kind: 'gone' });
  t.same(contenderPosition([], 'json.info_', 'json.info_0000000003'), { kind: 'gone' });
});

t.test('SerialTask: one run at a time, requests coalesced', async (t) => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const gates: Array<() => void> = [];
  const errors: unknown[] = [];
  const task = new SerialTask(
    async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      if (runs === 2) throw new Error('second run fails');
    },
    (err) => errors.push(err),
  );
  const first = task.run();
  await Promise.resolve();
  const second = task.run();
  const third = task.run();
  t.equal(second, third, 'a queued run is shared');
  while (gates.length === 0) await new Promise((r) => setImmediate(r));
  gates.shift()!();
  await first;
  while (gates.length === 0) await new Promise((r) => setImmediate(r));
  gates.shift()!();
  await second;
  t.equal(runs, 2);
  t.equal(maxRunning, 1);
  t.equal(errors.length, 1, 'errors go to the handler, not to the caller');
});
