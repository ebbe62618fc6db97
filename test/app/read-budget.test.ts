import t from 'tap';
import { MESSAGE_BYTES, ReadBudget } from '../../lib/app/read-budget.js';

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

t.test('an address reads its burst at once, then waits for the rate; another address has its own', async (t) => {
  const c = clock();
  const budget = new ReadBudget({ count: 1_000, perMs: 1_000 }, c); // 1,000 bytes at once, then 1 byte/ms
  t.equal(budget.take('a', 600), 0);
  t.equal(budget.take('a', 400), 0, 'the whole burst');
  t.equal(budget.take('a', 250), 250, 'past it: stop reading until those 250 bytes are paid for');
  t.equal(budget.take('b', 1_000), 0, 'another address is not held back');
  c.advance(250);
  t.equal(budget.take('a', 100), 100, 'a read after the wait owes its own time: the debt was kept, not forgotten');
  c.advance(2_000);
  t.equal(budget.take('a', 1_000), 0, 'idle long enough, the burst is back');
});

t.test('the gates of one address share its budget', async (t) => {
  const c = clock();
  const budget = new ReadBudget({ count: 100, perMs: 100 }, c);
  const one = budget.gate('a');
  const two = budget.gate('a');
  t.equal(one.take(100), 0);
  t.equal(two.take(50), 50, "the second connection pays for the first one's reads");
});

t.test('a message costs MESSAGE_BYTES beyond its bytes', async (t) => {
  const c = clock();
  const budget = new ReadBudget({ count: 4 * MESSAGE_BYTES, perMs: 4 * MESSAGE_BYTES }, c); // 1 byte/ms
  const gate = budget.gate('a');
  for (let i = 0; i < 4; i++) gate.message();
  t.equal(gate.take(10), 10, 'four messages used the burst: the next ten bytes wait 10 ms');
});

t.test('addresses that owe nothing are forgotten; a bad rate is refused', async (t) => {
  const c = clock();
  const budget = new ReadBudget({ count: 10, perMs: 10 }, c);
  budget.take('a', 5);
  c.advance(60_000);
  budget.take('b', 1);
  t.equal(budget.size, 1, "a's entry was swept");
  t.throws(() => new ReadBudget({ count: 0, perMs: 1 }, c), RangeError);
});
