import t from 'tap';
import { checkHostName, hostAllowlist } from '../../lib/app/host-check.js';

t.test('always served: IP literals, localhost and names under it, the machine itself', async (t) => {
  const serves = hostAllowlist([], 'Nas.home.arpa');
  const yes = ['127.0.0.1', '127.0.0.1:3999', '192.168.1.20:3999', '[::1]:3999', '[2001:db8::5]', 'localhost', 'LOCALHOST:3999', 'localhost.',
    'app.localhost:8080', 'nas.home.arpa', 'NAS:3999', 'nas.local', undefined];
  for (const host of yes) t.ok(serves(host), `serves ${host}`);
});

t.test('refused: another name (DNS rebinding), and anything that is no host', async (t) => {
  const serves = hostAllowlist([], 'nas.home.arpa');
  const no = ['evil.example', 'evil.example:3999', 'localhost.evil.example', 'nas.evil.example', 'nas.home.arpa.evil.example', 'notlocalhost',
    '', ' ', 'a b', 'user@127.0.0.1', '127.0.0.1/x', 'x'.repeat(300), '[::1', 'evil.example#', '*.localhost.evil'];
  for (const host of no) t.notOk(serves(host), `refuses ${JSON.stringify(host.slice(0, 40))}`);
});

t.test('names the operator allowed: any case, any port, with or without the trailing dot', async (t) => {
  const serves = hostAllowlist(['keys.example.org', 'ключи.example'], 'box');
  for (const host of ['keys.example.org', 'KEYS.example.org:443', 'keys.example.org.', 'xn--h1add2c8a.example']) t.ok(serves(host), host);
  t.notOk(serves('example.org'));
  t.notOk(serves('a.keys.example.org'), 'not the names under it');
  t.throws(() => hostAllowlist(['keys.example.org/app']), /not a host name/);
});

t.test('checkHostName: a bare host name, in the form Host carries it', async (t) => {
  t.equal(checkHostName('Keys.Example.org.'), 'keys.example.org');
  t.equal(checkHostName('ключи.example'), 'xn--h1add2c8a.example');
  t.equal(checkHostName('192.168.1.2'), '192.168.1.2');
  t.equal(checkHostName('[::1]'), '[::1]');
  for (const bad of ['keys.example.org:80', 'keys.example.org:', 'https://keys.example.org', '*.example.org', 'a b', '', 'a..b']) t.equal(checkHostName(bad), null, bad);
});
