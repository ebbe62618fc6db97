import t from 'tap';
import { formatLogEvent, lineLogger } from '../lib/log.js';

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
