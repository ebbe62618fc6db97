import t from 'tap';
import { Quota } from '../../lib/app/quota.js';

t.test('a cap per address and one for the server', async (t) => {
  const quota = new Quota({ perAddress: 2, total: 3 });
  t.equal(quota.take('a'), 'ok');
  t.equal(quota.take('a'), 'ok');
  t.equal(quota.take('a'), 'address-full', 'the address has its share');
  t.equal(quota.count('a'), 2);
  t.equal(quota.take('b'), 'ok', 'another address is not held back by the first');
  t.equal(quota.take('c'), 'server-full');
  t.equal(quota.take('a'), 'address-full', 'a full address says so first, even when the server is full');
  t.equal(quota.total, 3);
  t.equal(quota.release('a'), true);
  t.equal(quota.take('c'), 'ok', 'a release makes room for anyone');
  t.equal(quota.take('a'), 'server-full');
});

t.test('entries go at zero: memory is bounded by the total', async (t) => {
  const quota = new Quota({ perAddress: 1, total: 1_000 });
  for (let i = 0; i < 5_000; i++) {
    quota.take(`10.0.${i >> 8}.${i & 255}`);
  }
  t.equal(quota.total, 1_000);
  t.equal(quota.addresses, 1_000, 'refused addresses leave no entry');
  for (let i = 0; i < 1_000; i++) quota.release(`10.0.${i >> 8}.${i & 255}`);
  t.equal(quota.total, 0);
  t.equal(quota.addresses, 0);
});

t.test('a release without a take changes nothing', async (t) => {
  const quota = new Quota({ perAddress: 2, total: 2 });
  quota.take('a');
  t.equal(quota.release('b'), false);
  t.equal(quota.total, 1);
  t.equal(quota.release('a'), true);
  t.equal(quota.release('a'), false, 'not twice');
  t.equal(quota.total, 0);
  t.equal(quota.count('a'), 0);
});

t.test('limits must be whole numbers of at least 1', async (t) => {
  t.throws(() => new Quota({ perAddress: 0, total: 1 }), /perAddress must be a whole number/);
  t.throws(() => new Quota({ perAddress: 1, total: 1.5 }), /total/);
  t.throws(() => new Quota({ perAddress: 1, total: NaN }), RangeError);
});
