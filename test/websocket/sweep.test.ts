/**
 * The shared heartbeat timer: one interval for every member, started by the
 * first and stopped with the last, so an idle server holds no timer at all.
 */
import t from 'tap';
import { Sweep } from '../../lib/websocket/sweep.js';
import { waitFor } from '../helpers/raw-client.js';

t.test('ticks every member, stops with the last one, starts again with a new one', async (t) => {
  const ticks: string[] = [];
  let ticked!: () => void;
  let next = new Promise<void>((resolve) => (ticked = resolve));
  const sweep = new Sweep<string>(10, (member) => {
    ticks.push(member);
    ticked();
  });
  t.notOk(sweep.running, 'no member, no timer');

  sweep.add('a');
  sweep.add('b');
  t.ok(sweep.running);
  await waitFor(next, 'a tick');
  t.same(ticks.slice(0, 2), ['a', 'b'], 'one pass ticks every member, in the order they joined');

  sweep.delete('a');
  ticks.length = 0;
  next = new Promise<void>((resolve) => (ticked = resolve));
  await waitFor(next, 'a tick');
  t.same([...new Set(ticks)], ['b'], 'a member that left is not ticked');

  sweep.delete('b');
  t.notOk(sweep.running, 'the timer stops with the last member');

  sweep.add('c');
  t.ok(sweep.running, 'and starts again');
  ticks.length = 0;
  next = new Promise<void>((resolve) => (ticked = resolve));
  await waitFor(next, 'a tick');
  t.same([...new Set(ticks)], ['c']);
  sweep.delete('c');
});

t.test('a member may leave during a pass (a tick that drops its peer)', async (t) => {
  const ticks: string[] = [];
  let done!: () => void;
  const passed = new Promise<void>((resolve) => (done = resolve));
  const sweep = new Sweep<string>(10, (member) => {
    ticks.push(member);
    if (member === 'a') sweep.delete('b');
    if (member === 'c') done();
  });
  for (const m of ['a', 'b', 'c']) sweep.add(m);
  await waitFor(passed, 'a pass');
  t.same(ticks.slice(0, 2), ['a', 'c'], 'b left before its turn and was skipped');
  sweep.delete('a');
  sweep.delete('c');
  t.notOk(sweep.running);
});

t.test('members are a set; a period of 0 never starts a timer', async (t) => {
  const sweep = new Sweep<string>(0, () => t.fail('no tick with period 0'));
  sweep.add('a');
  sweep.add('b');
  sweep.add('a');
  t.notOk(sweep.running, 'no timer');
  t.same([...sweep.members], ['a', 'b'], 'each member once, in the order they joined');
  sweep.delete('a');
  t.same([...sweep.members], ['b']);
});
