import t from 'tap';
import { DEFAULT_LIMITS, httpServerOptions, resolveLimits } from '../../lib/websocket/limits.js';
import { WebSocketRouter } from '../../lib/websocket/router.js';

t.test('every limit is on by default', async (t) => {
  for (const [name, value] of Object.entries(DEFAULT_LIMITS)) t.ok(value === true || (typeof value === 'number' && value > 0), `${name} = ${value}`);
  t.ok(Object.isFrozen(DEFAULT_LIMITS), 'the defaults cannot be changed by accident');
  t.same(new WebSocketRouter().limits, DEFAULT_LIMITS, 'a router without options uses them');
});

t.test('resolveLimits: overrides, undefined keeps the default, bad values throw', async (t) => {
  const limits = resolveLimits({ maxMessageSize: 10, heartbeatInterval: 0, closeTimeout: undefined });
  t.equal(limits.maxMessageSize, 10);
  t.equal(limits.heartbeatInterval, 0, '0 is allowed (turns the heartbeat off)');
  t.equal(limits.closeTimeout, DEFAULT_LIMITS.closeTimeout);
  t.not(limits, DEFAULT_LIMITS, 'a fresh object');
  for (const bad of [-1, NaN, Infinity]) {
    t.throws(() => resolveLimits({ maxMessageSize: bad }), RangeError, `${bad}`);
  }
  t.throws(() => new WebSocketRouter({ limits: { closeTimeout: -5 } }), /closeTimeout/, 'a router refuses them too');
  t.equal(resolveLimits({ pauseReadingOnSendBacklog: false }).pauseReadingOnSendBacklog, false, 'a switch takes true or false');
  // @ts-expect-error: what JavaScript could pass
  t.throws(() => resolveLimits({ pauseReadingOnSendBacklog: 1 }), TypeError, 'and nothing else');
  // @ts-expect-error: what JavaScript could pass
  t.throws(() => resolveLimits({ maxMessageSize: true }), RangeError, 'a number takes no switch');
});

t.test('httpServerOptions: Node answers slow headers with 408 after handshakeTimeout', async (t) => {
  const options = httpServerOptions(resolveLimits({ handshakeTimeout: 2000 }));
  t.equal(options.headersTimeout, 2000);
  t.ok(options.requestTimeout! >= options.headersTimeout!, 'Node requires requestTimeout ≥ headersTimeout');
  t.ok(options.connectionsCheckingInterval! <= 2000 / 2, 'checked often enough to matter');
  t.ok(httpServerOptions(resolveLimits({ handshakeTimeout: 50 })).connectionsCheckingInterval! >= 100, 'but not in a busy loop');
});
