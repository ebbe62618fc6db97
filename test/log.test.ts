import t from 'tap';
import { formatLogEvent, limitClientWarnings, lineLogger, MAX_VALUE_CHARS, WARNINGS_FROM_CLIENTS, type LogEvent } from '../lib/log.js';
import { ManualClock } from './helpers/manual-clock.js';

const TIME = new Date('2025-05-01T10:00:00.000Z');

t.test('one line per event: time, event name, fields', async (t) => {
  t.equal(
    formatLogEvent({ event: 'key-result', session: '3f9a1c02', key: 'ABCDE-*****-*****', status: 'activated', eresult: 1, detail: 0 }, TIME),
    '2025-05-01T10:00:00.000Z key-result session=3f9a1c02 key=ABCDE-*****-***** status=activated eresult=1 detail=0',
  );
  t.equal(
    formatLogEvent({ event: 'login-failed', session: 'ab', reason: 'invalid-password' }, TIME),
    '2025-05-01T10:00:00.000Z login-failed session=ab reason=invalid-password',
    'absent optional fields are left out',
  );
});

t.test('lineLogger writes through the sink with the injected time', async (t) => {
  const lines: string[] = [];
  const log = lineLogger((line) => lines.push(line), () => TIME.getTime());
  log({ event: 'session-opened', session: '01234567', client: '192.0.2.1' });
  log({ event: 'session-closed', session: '01234567', why: 'expired' });
  t.same(lines, [
    '2025-05-01T10:00:00.000Z session-opened session=01234567 client=192.0.2.1',
    '2025-05-01T10:00:00.000Z session-closed session=01234567 why=expired',
  ]);
  t.ok(lines.every((l) => !l.includes('\n')), 'one line each');
});

t.test('a value with spaces, quotes or non-ASCII is a JSON string: still one line that splits on spaces', async (t) => {
  t.equal(
    formatLogEvent({ event: 'origin-refused', origin: 'https://evil.example x="1"', host: 'keys.example.org' }, TIME),
    '2025-05-01T10:00:00.000Z origin-refused origin="https://evil.example x=\\"1\\"" host=keys.example.org',
  );
  t.equal(formatLogEvent({ event: 'origin-refused', origin: 'null\nforged-event', host: '' }, TIME), '2025-05-01T10:00:00.000Z origin-refused origin="null\\nforged-event" host=""');
  t.equal(formatLogEvent({ event: 'origin-refused', origin: 'https://ключи.example', host: 'h' }, TIME), '2025-05-01T10:00:00.000Z origin-refused origin="https://ключи.example" host=h');
});

t.test('a value longer than MAX_VALUE_CHARS is cut, saying how long it was', async (t) => {
  const origin = `https://${'a'.repeat(8_000)}.example`;
  const line = formatLogEvent({ event: 'origin-refused', origin, host: 'h', client: '203.0.113.9' }, TIME);
  t.ok(line.length < MAX_VALUE_CHARS + 100, `${line.length} characters`);
  t.match(line, new RegExp(`origin="https://a{${MAX_VALUE_CHARS - 8}}…\\(${origin.length} chars\\)" host=h client=203\\.0\\.113\\.9$`));
  const short = 'x'.repeat(MAX_VALUE_CHARS);
  t.equal(formatLogEvent({ event: 'host-refused', host: short }, TIME), `2025-05-01T10:00:00.000Z host-refused host=${short}`, 'up to the limit: whole');
});

t.test('warnings from clients: one rate for the whole server, and a count of what was left out', async (t) => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const limited = limitClientWarnings(lineLogger((l) => lines.push(l.split(' ').slice(1).join(' ')), () => clock.now()), clock, { count: 3, perMs: 60_000 });
  // Many clients, each a different Origin: per-client or per-origin limits would let all of these through.
  for (let i = 0; i < 1_000; i++) limited.log({ event: 'origin-refused', origin: `https://evil${i}.example`, host: 'h', client: `10.0.${i >> 8}.${i & 255}` });
  limited.log({ event: 'protocol-error', code: 'bad-json' });
  limited.log({ event: 'session-opened', session: 'ab', client: '10.9.9.9' });
  t.same(lines, [
    'origin-refused origin=https://evil0.example host=h client=10.0.0.0',
    'origin-refused origin=https://evil1.example host=h client=10.0.0.1',
    'origin-refused origin=https://evil2.example host=h client=10.0.0.2',
    'session-opened session=ab client=10.9.9.9',
  ], 'three warnings, then only what is not a client warning');
  await clock.advance(60_000);
  t.equal(lines.at(-1), 'log-suppressed count=998', 'a period later: how many were left out');
  t.equal(lines.length, 5);
  await clock.advance(10 * 60_000);
  t.equal(lines.length, 5, 'nothing more to say: no further line');
  for (let i = 0; i < 4; i++) limited.log({ event: 'websocket-failed', code: 1009 });
  t.equal(lines.length, 8, 'a quiet server logs a short burst in full');
  limited.flush();
  t.equal(lines.at(-1), 'log-suppressed count=1', 'flush (at shutdown) says it at once');
  t.equal(clock.pending, 0, 'and leaves no timer behind');
  limited.flush();
  t.equal(lines.length, 9, 'a second flush has nothing to say');
});

t.test('every kind of client-driven warning shares the rate', async (t) => {
  for (const event of ['origin-refused', 'host-refused', 'protocol-error', 'websocket-failed', 'connection-refused', 'sessions-full', 'sign-in-refused']) {
    t.ok(WARNINGS_FROM_CLIENTS.has(event as LogEvent['event']), event);
  }
  t.notOk(WARNINGS_FROM_CLIENTS.has('login-failed'), 'sign-in failures are bounded by the sign-in limits instead');
});
