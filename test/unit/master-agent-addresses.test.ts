/**
 * The index of agents by address (master/agent-addresses.ts) that `register` uses to find a
 * restarted slave's old, inactive agent without scanning every agent.
 */
import t from 'tap';
import { AgentAddressIndex } from '../../master/agent-addresses.js';

const at = (id: string, hostname: string, port: number, ip: string) => ({ id, hostname, port, ip });

t.test('agents are found by hostname, port and ip together', async (t) => {
  const index = new AgentAddressIndex();
  index.put(at('a', 'h1', 5051, '10.0.0.1'));
  index.put(at('b', 'h1', 5051, '10.0.0.1'));
  index.put(at('c', 'h1', 5052, '10.0.0.1'));
  index.put(at('d', 'h1', 5051, '10.0.0.2'));
  t.same(index.at('h1', 5051, '10.0.0.1').sort(), ['a', 'b']);
  t.same(index.at('h1', 5052, '10.0.0.1'), ['c']);
  t.same(index.at('h2', 5051, '10.0.0.1'), []);
  t.equal(index.size, 4);
});

t.test('an agent that moved is found at its new address only; a deleted one nowhere', async (t) => {
  const index = new AgentAddressIndex();
  index.put(at('a', 'h1', 5051, '10.0.0.1'));
  index.put(at('a', 'h1', 5051, '10.0.0.1'));
  t.equal(index.size, 1, 'filing again at the same address is a no-op');
  index.put(at('a', 'h2', 6000, '10.0.0.9'));
  t.same(index.at('h1', 5051, '10.0.0.1'), []);
  t.same(index.at('h2', 6000, '10.0.0.9'), ['a']);
  index.delete('a');
  index.delete('never-filed');
  t.same(index.at('h2', 6000, '10.0.0.9'), []);
  t.equal(index.size, 0);
});

t.test('the ids returned are a copy: deleting while iterating is safe', async (t) => {
  const index = new AgentAddressIndex();
  for (const id of ['a', 'b', 'c']) index.put(at(id, 'h', 1, 'ip'));
  const seen: string[] = [];
  for (const id of index.at('h', 1, 'ip')) {
    seen.push(id);
    index.delete(id);
  }
  t.same(seen.sort(), ['a', 'b', 'c']);
  t.same(index.at('h', 1, 'ip'), []);
});

t.test('a NUL in a hostname cannot make two addresses collide', async (t) => {
  const index = new AgentAddressIndex();
  index.put(at('a', 'h\u00005051', 1, 'x'));
  t.same(index.at('h', 5051, '1\u0000x'), [], 'different fields, different entries');
});
