import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { clientAddress, clientLogAddress, fromThisMachine, trustedProxySet, UNKNOWN_ADDRESS } from '../../lib/app/client-address.js';

/** What clientAddress reads of a request: the socket's address and the headers. */
const request = (remoteAddress: string | undefined, headers: Record<string, string | string[]> = {}): IncomingMessage =>
  ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

const NONE = new Set<string>();
const NGINX = trustedProxySet(['127.0.0.1', '::1']);

t.test("without a trusted proxy: the socket's address, whatever the headers say", async (t) => {
  t.equal(clientAddress(request('203.0.113.7'), NONE), '203.0.113.7');
  t.equal(clientAddress(request('203.0.113.7', { 'x-forwarded-for': '198.51.100.1' }), NONE), '203.0.113.7');
  t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.1' }), NONE), '127.0.0.1', 'loopback is no proxy unless named');
  t.equal(clientAddress(request('203.0.113.7', { 'x-forwarded-for': '198.51.100.1' }), NGINX), '203.0.113.7', 'a peer that is not the named proxy');
});

t.test('IPv4-mapped IPv6 counts as IPv4; IPv6 by its /64', async (t) => {
  t.equal(clientAddress(request('::ffff:198.51.100.4'), NONE), '198.51.100.4');
  t.equal(clientAddress(request('2001:db8:1:2:3:4:5:6'), NONE), '2001:db8:1:2::/64');
  t.equal(clientAddress(request('2001:db8:1:2::99'), NONE), '2001:db8:1:2::/64', 'another address of the same /64 is the same client');
  t.equal(clientLogAddress(request('2001:db8:1:2:3:4:5:6'), NONE), '2001:db8:1:2:3:4:5:6', 'logs show the exact address');
  t.equal(clientLogAddress(request('::ffff:198.51.100.4'), NONE), '198.51.100.4');
});

t.test('behind a trusted proxy: the last X-Forwarded-For entry, the one the proxy added', async (t) => {
  t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.1' }), NGINX), '198.51.100.1');
  t.equal(clientAddress(request('::ffff:127.0.0.1', { 'x-forwarded-for': '198.51.100.1' }), NGINX), '198.51.100.1', 'the proxy seen through a dual-stack socket');
  t.equal(clientAddress(request('::1', { 'x-forwarded-for': '10.9.9.9, 198.51.100.1' }), NGINX), '198.51.100.1', 'earlier entries are the client\'s own words');
  t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': ['10.9.9.9', '198.51.100.2'] }), NGINX), '198.51.100.2', 'repeated headers: the last');
  t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '10.9.9.9, 2001:DB8:5:6::1' }), NGINX), '2001:db8:5:6::/64');
  t.equal(clientLogAddress(request('127.0.0.1', { 'x-forwarded-for': ' 2001:DB8:5:6::1 ' }), NGINX), '2001:db8:5:6::1');
  t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '[2001:db8:5:6::1]:4711' }), NGINX), '2001:db8:5:6::/64', 'bracketed, with a port');
  t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.1:4711' }), NGINX), '198.51.100.1', 'IPv4 with a port');
  t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '::ffff:198.51.100.1' }), NGINX), '198.51.100.1');
});

t.test("garbage in X-Forwarded-For: the proxy's own address (limits too tight, never open)", async (t) => {
  for (const xff of ['', 'unknown', '198.51.100.1, ', 'evil.example', '198.51.100.1, 999.1.1.1', '1.2.3.4 5.6.7.8', '[::1', 'x'.repeat(10_000), '_gazonk']) {
    t.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': xff }), NGINX), '127.0.0.1', JSON.stringify(xff.slice(0, 30)));
  }
  t.equal(clientAddress(request('127.0.0.1'), NGINX), '127.0.0.1', 'no header at all');
});

t.test('a socket without an address any more', async (t) => {
  t.equal(clientAddress(request(undefined), NONE), UNKNOWN_ADDRESS);
  t.equal(clientLogAddress(request(undefined, { 'x-forwarded-for': '198.51.100.1' }), NGINX), UNKNOWN_ADDRESS);
});

t.test('trusted proxies in any spelling; anything else is refused', async (t) => {
  t.same([...trustedProxySet([' 127.0.0.1', '::FFFF:10.0.0.2', '0:0::1'])], ['127.0.0.1', '10.0.0.2', '::1']);
  t.throws(() => trustedProxySet(['localhost']), /not an IP address: 'localhost'/);
  t.throws(() => trustedProxySet(['10.0.0.0/8']), RangeError, 'blocks are not taken: name each proxy');
});

t.test('fromThisMachine: a loopback socket that was not forwarded', async (t) => {
  t.ok(fromThisMachine(request('127.0.0.1')));
  t.ok(fromThisMachine(request('::1')));
  t.ok(fromThisMachine(request('::ffff:127.0.0.1')));
  t.notOk(fromThisMachine(request('192.168.1.5')));
  t.notOk(fromThisMachine(request('2001:db8::1')));
  t.notOk(fromThisMachine(request(undefined)));
  t.notOk(fromThisMachine(request('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })), 'a proxy on this machine passing on an outsider');
  t.notOk(fromThisMachine(request('127.0.0.1', { 'x-forwarded-for': '' })), 'even an empty header');
  t.notOk(fromThisMachine(request('127.0.0.1', { forwarded: 'for=203.0.113.9' })), "RFC 7239's header too");
});
