/** The log's story of a session, line by line: what an operator reads. */
import t from 'tap';
import { startApp } from '../helpers/app.js';

/** "2025-…Z key-result session=ab key=… status=…" → "key-result key=… status=…" (time and session id dropped). */
const shape = (line: string): string => line.split(' ').slice(1).filter((f) => !f.startsWith('session=')).join(' ');

t.test('rate limit, cooldown and going on; a stall and its resume; sign-out of Steam', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  client.send({ type: 'add-keys', text: 'DEMO9-RATEL-IMITS DEMOA-TIMES-OUT00 DEMO1-ACTIV-ATED1' });
  await client.until('queue', (m) => m.state === 'stalled');
  client.send({ type: 'resume' });
  await client.until('key', (m) => m.entry.key === 'DEMO1-ACTIV-ATED1' && m.entry.result !== undefined);
  client.send({ type: 'logout' });
  await run.logged(/steam-logged-off/);

  const lines = run.logs.map(shape);
  const from = lines.indexOf('keys-added added=3 dropped=0');
  t.same(
    lines.slice(from).map((l) => l.replace(/until=\S+/, 'until=…')),
    [
      'keys-added added=3 dropped=0',
      'key-result key=DEMO9-*****-***** status=rate-limited eresult=2 detail=53',
      'queue-rate-limited until=…',
      'queue-resumed',
      'key-result key=DEMO9-*****-***** status=activated eresult=1 detail=0',
      'key-result key=DEMOA-*****-***** status=unknown',
      'queue-stalled by=unknown-result',
      'queue-resumed',
      'key-result key=DEMO1-*****-***** status=activated eresult=1 detail=0',
      'session-closed why=logged-out',
      'steam-logged-off',
    ],
  );
  const until = /queue-rate-limited session=\w+ until=(\S+)/.exec(run.logs.join('\n'))?.[1];
  t.match(until, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'when sending resumes, as an ISO time');
});
