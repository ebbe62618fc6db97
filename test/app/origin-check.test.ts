import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { allowOrigins, normaliseOrigin, sameOrigin } from '../../lib/app/origin-check.js';

const req = (host: string): IncomingMessage => ({ headers: { host } }) as unknown as IncomingMessage;

t.test("sameOrigin: no Origin, or an http(s) page of the request's host", async (t) => {
  t.ok(sameOrigin(undefined, req('127.0.0.1:3999')), 'not a browser');
  t.ok(sameOrigin('http://127.0.0.1:3999', req('127.0.0.1:3999')));
  t.ok(sameOrigin('https://keys.example.org', req('keys.example.org')));
  t.notOk(sameOrigin('https://evil.example', req('keys.example.org')));
  t.notOk(sameOrigin('null', req('keys.example.org')), 'a file:// page or a sandbox');
  for (const scheme of ['ftp', 'chrome-extension', 'ws', 'file']) {
    t.notOk(sameOrigin(`${scheme}://127.0.0.1:3999`, req('127.0.0.1:3999')), `${scheme}: is no page of ours`);
  }
});

t.test("allowOrigins: the named origins, and the server's own pages", async (t) => {
  const allow = allowOrigins(['https://keys.example.org', 'http://other.test:8080']);
  t.ok(allow('https://keys.example.org', req('127.0.0.1:3999')), 'a proxy that changes Host');
  t.ok(allow('HTTPS://Keys.Example.org:443', req('127.0.0.1:3999')), 'in any spelling');
  t.ok(allow('http://other.test:8080', req('x')));
  t.ok(allow('http://127.0.0.1:3999', req('127.0.0.1:3999')), "the server's own page");
  t.ok(allow(undefined, req('x')));
  t.notOk(allow('https://evil.example', req('keys.example.org')));
  t.notOk(allow('ftp://other.test:8080', req('other.test:8080')));
});

t.test('when --origin names a host, only its scheme is let in for that host', async (t) => {
  const allow = allowOrigins(['https://keys.example.org']);
  t.ok(allow('https://keys.example.org', req('keys.example.org')));
  t.notOk(allow('http://keys.example.org', req('keys.example.org')), 'the plain-HTTP page of the same name is not ours');
  t.ok(allow('http://127.0.0.1:3999', req('127.0.0.1:3999')), 'other hosts are as before');
  t.ok(allowOrigins([])('http://keys.example.org', req('keys.example.org')), 'without --origin, the same host in either scheme');
});

t.test('normaliseOrigin', async (t) => {
  t.equal(normaliseOrigin('HTTPS://Keys.Example.org:443'), 'https://keys.example.org');
  t.equal(normaliseOrigin('garbage'), 'garbage');
});
