import t from 'tap';
import { DEFAULT_POLICY, resolvePolicy } from '../../lib/app/policy.js';

t.test('the defaults, and overrides on top', async (t) => {
  t.same(resolvePolicy(), DEFAULT_POLICY);
  t.match(DEFAULT_POLICY, {
    firstMessageTimeoutMs: 10_000,
    anonymousGraceMs: 30_000,
    signInDeadlineMs: 15 * 60_000,
    connectionsPerSession: 8,
    steamCooldownMs: 30 * 60_000,
  }, 'the figures docs/sessions.md gives');
  const policy = resolvePolicy({ maxConnectionsPerAddress: 3, signInsPerAddress: { count: 2, perMs: 1_000 }, maxSessions: undefined });
  t.equal(policy.maxConnectionsPerAddress, 3);
  t.same(policy.signInsPerAddress, { count: 2, perMs: 1_000 });
  t.equal(policy.maxSessions, DEFAULT_POLICY.maxSessions, 'undefined leaves the default');
  t.ok(Object.isFrozen(DEFAULT_POLICY));
});

t.test('proxies and host names come back canonical', async (t) => {
  const policy = resolvePolicy({ trustedProxies: ['::ffff:127.0.0.1', '0::1'], allowedHosts: ['Keys.Example.ORG.', 'ключи.example'] });
  t.same(policy.trustedProxies, ['127.0.0.1', '::1']);
  t.same(policy.allowedHosts, ['keys.example.org', 'xn--h1add2c8a.example']);
});

t.test('nonsense is a RangeError naming the field', async (t) => {
  t.throws(() => resolvePolicy({ maxConnections: 0 }), { name: 'RangeError', message: /^maxConnections/ });
  t.throws(() => resolvePolicy({ maxSessionsPerAddress: 1.5 }), /^maxSessionsPerAddress/);
  t.throws(() => resolvePolicy({ firstMessageTimeoutMs: -1 }), /^firstMessageTimeoutMs/);
  t.throws(() => resolvePolicy({ signInsPerServer: { count: 0, perMs: 1 } }), /^signInsPerServer/);
  t.throws(() => resolvePolicy({ trustedProxies: ['proxy.local'] }), /trustedProxies.*proxy\.local/);
  t.throws(() => resolvePolicy({ allowedHosts: ['keys.example.org:443'] }), /allowedHosts.*keys\.example\.org:443/);
});
