/**
 * The slave's leader-following decisions, purely: which agent URL a detector's leader data
 * names, when the master link switches masters, and how `--master zk://…` compiles.
 */
import t from 'tap';
import { agentUrlFor, decideOnLeaderChange, type LeaderChangeInput } from '../../slave/leader.js';
import { compileSlaveOptions, parseZkMaster } from '../../slave/options.js';
import { tempWorkDir } from './slave-kit.js';

const info = (ip: string, port: number): string => JSON.stringify({ id: 'm', ip: 0, port, hostname: 'ignored', address: { ip, hostname: 'h', port } });

t.test('agentUrlFor: MasterInfo JSON, the static ws:// URL, IPv6, nothing', async (t) => {
  t.equal(agentUrlFor(info('10.0.0.2', 5060)), 'ws://10.0.0.2:5060/api/v1/agent');
  t.equal(agentUrlFor('ws://127.0.0.1:5050/api/v1/agent'), 'ws://127.0.0.1:5050/api/v1/agent', 'standalone: the configured URL, unchanged');
  t.equal(agentUrlFor('ws://[::1]:5050/api/v1/agent'), 'ws://[::1]:5050/api/v1/agent');
  t.equal(agentUrlFor(info('::1', 5050)), 'ws://[::1]:5050/api/v1/agent');
  t.equal(agentUrlFor(undefined), undefined);
  t.equal(agentUrlFor('{"id":"no address"}'), undefined);
});

t.test('decideOnLeaderChange', async (t) => {
  const A = 'ws://a:5050/api/v1/agent';
  const B = 'ws://b:5050/api/v1/agent';
  const base: LeaderChangeInput = { leaderUrl: A, dialedUrl: A, state: 'registered', reconnectPending: false };
  const cases: [Partial<LeaderChangeInput>, string, string][] = [
    [{}, 'keep', 'same leader, registered'],
    [{ state: 'connecting' }, 'keep', 'same leader, dialling it'],
    [{ state: 'registering' }, 'keep', 'same leader, registering'],
    [{ state: 'disconnected', reconnectPending: true }, 'keep', 'same leader, backing off: the timer dials it (no hammering)'],
    [{ state: 'disconnected', reconnectPending: false }, 'switch', 'waiting for a leader: dial it'],
    [{ state: 'disconnected', reconnectPending: false, dialedUrl: undefined }, 'switch', 'never dialled: dial'],
    [{ leaderUrl: B }, 'switch', 'another leader while registered'],
    [{ leaderUrl: B, state: 'connecting' }, 'switch', 'another leader while dialling the old one'],
    [{ leaderUrl: B, state: 'disconnected', reconnectPending: true }, 'switch', 'another leader while backing off from the old one'],
    [{ leaderUrl: undefined }, 'keep', 'no leader: keep the socket'],
    [{ leaderUrl: undefined, state: 'disconnected' }, 'keep', 'no leader: keep waiting'],
    [{ leaderUrl: B, state: 'closed' }, 'keep', 'closed: nothing'],
  ];
  for (const [change, want, why] of cases) t.equal(decideOnLeaderChange({ ...base, ...change }), want, why);
});

t.test('--master zk://…: compiled with the URL kept, the first server for loopback decisions', async (t) => {
  t.same(parseZkMaster('zk://u:p@10.0.0.1:2182,10.0.0.2:2181/agora'), { url: 'zk://u:p@10.0.0.1:2182,10.0.0.2:2181/agora', host: '10.0.0.1', port: 2182 });
  t.same(parseZkMaster('zk://[::1]/agora'), { url: 'zk://[::1]/agora', host: '::1', port: 2181 });
  t.throws(() => parseZkMaster('zk://h:2181'), { code: 'AGORA_SLAVE_OPTIONS_INVALID', message: /path/ });
  const workDir = tempWorkDir();
  const c = compileSlaveOptions({ master: 'zk://127.0.0.1:2181/agora', port: 0, workDir, resources: 'cpus:1;mem:64' });
  t.equal(c.masterZk, 'zk://127.0.0.1:2181/agora');
  t.equal(c.masterUrl, '');
  t.equal(c.advertiseIp, '127.0.0.1', 'ZooKeeper on loopback: advertise loopback, as for a loopback master');
  const plain = compileSlaveOptions({ master: '127.0.0.1:5050', port: 0, workDir, resources: 'cpus:1;mem:64' });
  t.equal(plain.masterZk, undefined);
  t.equal(plain.masterUrl, 'ws://127.0.0.1:5050/api/v1/agent');
  t.throws(() => compileSlaveOptions({ master: 'zk://127.0.0.1:2181', port: 0, workDir }), { code: 'AGORA_SLAVE_OPTIONS_INVALID' });
});
