import t from 'tap';
import { AddressRate } from '../../lib/app/address-rate.js';

const MINUTE = 60_000;

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

t.test('an address pastes its burst, then waits for the rate; another address is not held back', async (t) => {
  const c = clock();
  const limiter = new AddressRate({ count: 3_000, perMs: 10 * MINUTE }, c);
  t.equal(limiter.take('10.0.0.1', 1_000), null);
  t.equal(limiter.take('10.0.0.1', 2_000), null, 'the whole burst');
  const retryAt = limiter.take('10.0.0.1', 600);
  t.equal(retryAt, c.now() + 2 * MINUTE, '600 characters come back in 2 minutes');
  t.equal(limiter.take('10.0.0.2', 3_000), null, 'another address has its own burst');
  c.advance(2 * MINUTE - 1);
  t.ok(limiter.take('10.0.0.1', 600), 'not a moment early');
  c.advance(1);
  t.equal(limiter.take('10.0.0.1', 600), null, 'on time');
});

t.test('a paste larger than the burst costs the whole burst, so a full bucket always lets one through', async (t) => {
  const c = clock();
  const limiter = new AddressRate({ count: 1_000, perMs: MINUTE }, c);
  t.equal(limiter.take('a', 1_000_000), null);
  t.equal(limiter.take('a', 1_000_000), c.now() + MINUTE, 'the next one waits for a full bucket');
  t.equal(limiter.take('a', 1), c.now() + 60, 'a small one waits for its share only');
});

t.test('a refused paste takes nothing; full buckets are forgotten', async (t) => {
  const c = clock();
  const limiter = new AddressRate({ count: 100, perMs: MINUTE }, c);
  limiter.take('a', 100);
  for (let i = 0; i < 10; i++) t.ok(limiter.take('a', 50), 'refused');
  c.advance(MINUTE / 2);
  t.equal(limiter.take('a', 50), null, 'half a minute gave back half the bucket: the refusals took nothing');
  t.equal(limiter.size, 1);
  c.advance(2 * MINUTE);
  limiter.take('b', 1);
  t.equal(limiter.size, 1, "a's full bucket was dropped by the sweep; only b's is held");
});

t.test('a bad rate is refused', async (t) => {
  t.throws(() => new AddressRate({ count: 0, perMs: 1 }, clock()), RangeError);
  t.throws(() => new AddressRate({ count: 1, perMs: 0.5 }, clock()), RangeError);
});
