import t from 'tap';
import { addressBlock, canonicalIp, isLoopback } from '../../lib/app/ip-address.js';

t.test('canonical forms: RFC 5952 for IPv6, IPv4-mapped as IPv4, zones dropped', async (t) => {
  const cases: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:7f00:1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // the first of two equal runs (§4.2.3)
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group stays (§4.2.2)
    ['2001:db8::', '2001:db8::'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::1.2.3.4', '::102:304'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, expected] of cases) t.equal(canonicalIp(input), expected, input);
});

t.test('anything else is not an address', async (t) => {
  const bad = ['', 'localhost', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8', '12345::', 'g::1', '1.2.3.4::', '::1.2.3', '1:2:3:4:5:6:7', '[::1]', 'unknown', `${'1:'.repeat(40)}1`];
  for (const text of bad) t.equal(canonicalIp(text), null, JSON.stringify(text));
});

t.test('address blocks: IPv6 by /64, IPv4 as it is', async (t) => {
  t.equal(addressBlock('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.equal(addressBlock('2001:db8:1:2::1'), addressBlock('2001:db8:1:2:ffff::9'), 'one /64, one block');
  t.not(addressBlock('2001:db8:1:2::1'), addressBlock('2001:db8:1:3::1'));
  t.equal(addressBlock('2001:db8::1'), '2001:db8::/64');
  t.equal(addressBlock('::1'), '::/64');
  t.equal(addressBlock('203.0.113.9'), '203.0.113.9');
});

t.test('loopback: 127.0.0.0/8 and ::1', async (t) => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1']) t.ok(isLoopback(a), a);
  for (const a of ['128.0.0.1', '10.0.0.1', '::2', '::', '2001:db8::1']) t.notOk(isLoopback(a), a);
});
