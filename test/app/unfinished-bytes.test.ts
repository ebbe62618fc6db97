import t from 'tap';
import { UnfinishedBytes } from '../../lib/app/unfinished-bytes.js';

t.test('an address holds up to its cap; another address has its own; shrinking is always allowed', async (t) => {
  const held = new UnfinishedBytes({ perAddress: 100, total: 1_000 });
  const a1 = held.holder('a');
  const a2 = held.holder('a');
  t.equal(a1(60), true);
  t.equal(a2(40), true, 'two connections of one address: 100, its cap');
  t.equal(a2(41), false, 'one byte more is refused');
  t.equal(held.held('a'), 60, 'the refused connection holds nothing any more (it is failed)');
  t.equal(held.holder('b')(100), true, 'another address is not held back');
  t.equal(a1(30), true, 'a shrinking message');
  t.equal(a1(0), true);
  t.equal(held.held('a'), 0);
  t.equal(held.held(), 100, 'the server counts all addresses');
});

t.test('the server holds up to its cap in all', async (t) => {
  const held = new UnfinishedBytes({ perAddress: 100, total: 150 });
  t.equal(held.holder('a')(100), true);
  t.equal(held.holder('b')(60), false, "past the server's cap, though within the address's");
  t.equal(held.holder('c')(50), true);
  t.equal(held.held(), 150);
});

t.test('addresses that hold nothing are forgotten; nonsense caps are refused', async (t) => {
  const held = new UnfinishedBytes({ perAddress: 10, total: 10 });
  const hold = held.holder('a');
  hold(5);
  t.equal(held.size, 1);
  hold(0);
  t.equal(held.size, 0, 'no entry once its last connection holds nothing');
  t.throws(() => new UnfinishedBytes({ perAddress: 0, total: 10 }), RangeError);
  t.throws(() => new UnfinishedBytes({ perAddress: 10, total: 1.5 }), RangeError);
});
