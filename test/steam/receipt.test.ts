import t from 'tap';
import { receiptPackages } from '../../lib/steam/receipt.js';

/** Binary KeyValues by hand: type byte, NUL-terminated name, value. */
const node = (name: string, ...children: Buffer[]): Buffer =>
  Buffer.concat([Buffer.from([0]), Buffer.from(name + '\0'), ...children, Buffer.from([8])]);
const str = (name: string, value: string): Buffer => Buffer.concat([Buffer.from([1]), Buffer.from(`${name}\0${value}\0`)]);
const int32 = (name: string, value: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32LE(value);
  return Buffer.concat([Buffer.from([2]), Buffer.from(name + '\0'), bytes]);
};
const uint64 = (name: string, value: bigint): Buffer => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return Buffer.concat([Buffer.from([7]), Buffer.from(name + '\0'), bytes]);
};
const root = (...children: Buffer[]): Buffer => Buffer.concat([node('MessageObject', ...children), Buffer.from([8])]);

t.test('every line item, in index order, with its name', async (t) => {
  const receipt = root(
    int32('PurchaseStatus', 1),
    int32('LineItemCount', 2),
    node('lineitems', node('1', int32('PackageID', 22), str('ItemDescription', 'Soundtrack')), node('0', int32('PackageID', 11), str('ItemDescription', 'Game — Deluxe'))),
  );
  t.same(receiptPackages(receipt), [
    { id: 11, name: 'Game — Deluxe' },
    { id: 22, name: 'Soundtrack' },
  ]);
});

t.test('the package id spellings steam-user accepts, and 64-bit ids', async (t) => {
  const receipt = root(
    node('lineitems', node('0', int32('packageID', 1)), node('1', int32('packageid', 2)), node('2', uint64('PackageID', 3n), str('ItemDescription', 'x'))),
  );
  t.same(receiptPackages(receipt), [
    { id: 1, name: '' },
    { id: 2, name: '' },
    { id: 3, name: 'x' },
  ]);
});

t.test('a receipt without line items lists no packages', async (t) => {
  t.same(receiptPackages(root(int32('LineItemCount', 0), int32('ResultDetail', 14))), []);
  t.same(receiptPackages(root(node('lineitems'))), []);
});

t.test('no receipt, or a damaged one, gives no packages instead of throwing', async (t) => {
  const good = root(node('lineitems', node('0', int32('PackageID', 5), str('ItemDescription', 'Game'))));
  t.same(receiptPackages(good), [{ id: 5, name: 'Game' }], 'the intact receipt reads');
  t.same(receiptPackages(null), []);
  t.same(receiptPackages(undefined), []);
  t.same(receiptPackages(Buffer.alloc(0)), []);
  for (let cut = 1; cut < good.length - 2; cut++) {
    t.same(receiptPackages(good.subarray(0, cut)), [], `cut at byte ${cut}`);
  }
  t.same(receiptPackages(Buffer.from([5, 0x41, 0])), [], 'an unknown type byte');
  t.same(receiptPackages(Buffer.from('not a receipt')), []);
  let deep = node('x');
  for (let i = 0; i < 100; i++) deep = node('x', deep);
  t.same(receiptPackages(Buffer.concat([deep, Buffer.from([8])])), [], 'absurdly deep nesting');
});

t.test('a receipt inside a larger buffer is read from its own bytes', async (t) => {
  const receipt = root(node('lineitems', node('0', int32('PackageID', 7), str('ItemDescription', 'Seven'))));
  const larger = Buffer.concat([Buffer.from('junk'), receipt, Buffer.from('junk')]);
  t.same(receiptPackages(larger.subarray(4, 4 + receipt.length)), [{ id: 7, name: 'Seven' }]);
});
