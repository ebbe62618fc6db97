import t from 'tap';
import { RedeemQueue, type Attempt, type QueueEvent, type QueueStatus } from '../../lib/steam/queue.js';
import { EResult, PurchaseDetail, resultFromReply, unknownResult } from '../../lib/steam/results.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

const PAUSE = 1_000;
const COOLDOWN = 60 * 60 * 1_000;

const activated: Attempt = { sent: true, result: resultFromReply({ eresult: 1, detail: 0, packages: [{ id: 1, name: 'G' }] }) };
const owned: Attempt = { sent: true, result: resultFromReply({ eresult: 2, detail: PurchaseDetail.AlreadyPurchased, packages: [] }) };
const rateLimited: Attempt = { sent: true, result: resultFromReply({ eresult: EResult.Fail, detail: PurchaseDetail.RateLimited, packages: [] }) };
const timedOut: Attempt = { sent: true, result: unknownResult('timeout') };

/** A queue wired to a Steam the test answers by hand. */
function setup(options: { open?: boolean } = {}) {
  const clock = new ManualClock();
  const calls: { key: string; answer: (a: Attempt) => void }[] = [];
  const events: QueueEvent[] = [];
  const queue = new RedeemQueue({
    pauseMs: PAUSE,
    cooldownMs: COOLDOWN,
    clock,
    onEvent: (e) => events.push(e),
    redeem: (key) => new Promise((resolve) => calls.push({ key, answer: resolve })),
  });
  if (options.open !== false) queue.open();
  const statuses = (): QueueStatus[] =>
    events.filter((e) => e.type === 'queue').map(({ type: _type, ...status }) => status as QueueStatus);
  /** Answers the latest call and lets the queue react. */
  const answer = async (attempt: Attempt): Promise<void> => {
    calls.at(-1)!.answer(attempt);
    await settle();
  };
  return { clock, calls, events, queue, statuses, answer, sent: () => calls.map((c) => c.key) };
}

t.test('one key at a time, in order, with the pause after each answer', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B', 'C']);
  await settle();
  t.same(sent(), ['A'], 'only the first key goes out');
  await clock.advance(PAUSE * 5);
  t.same(sent(), ['A'], 'nothing more while A is with Steam, however long it takes');
  await answer(activated);
  t.same(sent(), ['A'], 'B waits out the pause');
  await clock.advance(PAUSE - 1);
  t.same(sent(), ['A']);
  await clock.advance(1);
  t.same(sent(), ['A', 'B']);
  await answer(owned);
  await clock.advance(PAUSE);
  await answer(activated);
  t.same(
    queue.entries.map((e) => [e.n, e.key, e.state, e.result?.status]),
    [
      [1, 'A', 'done', 'activated'],
      [2, 'B', 'done', 'already-owned'],
      [3, 'C', 'done', 'activated'],
    ],
  );
  t.same(queue.status, { state: 'idle' });
});

t.test('keys added while it runs join the end; the pause also applies to a key added later', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A']);
  await settle();
  queue.add(['B']);
  await answer(activated);
  await clock.advance(PAUSE);
  t.same(sent(), ['A', 'B']);
  await answer(activated);
  await clock.advance(PAUSE / 2);
  queue.add(['C']);
  await settle();
  t.same(sent(), ['A', 'B'], 'C added half a pause after B answered still waits');
  await clock.advance(PAUSE / 2);
  t.same(sent(), ['A', 'B', 'C']);
});

t.test('a key already in the session is dropped; a cancelled one can be queued again', async (t) => {
  const { queue } = setup({ open: false });
  t.same(queue.add(['A', 'B']).dropped, []);
  const again = queue.add(['B', 'C']);
  t.same(again.added.map((e) => [e.n, e.key]), [[3, 'C']]);
  t.same(again.dropped, [{ key: 'B', reason: 'already-in-session' }]);
  queue.cancel();
  t.same(queue.entries.map((e) => e.state), ['cancelled', 'cancelled', 'cancelled']);
  const back = queue.add(['B']);
  t.same(back.added.map((e) => [e.n, e.key, e.state]), [[2, 'B', 'queued']], 'keeps its number');
  t.same(queue.entries.map((e) => e.state), ['cancelled', 'queued', 'cancelled']);
});

t.test('cancel stops after the current key', async (t) => {
  const { clock, queue, answer, sent, events } = setup();
  queue.add(['A', 'B', 'C']);
  await settle();
  queue.cancel();
  t.same(queue.entries.map((e) => e.state), ['redeeming', 'cancelled', 'cancelled'], 'not-yet-sent keys are cancelled at once');
  t.same(queue.status, { state: 'running' }, 'A is still with Steam');
  await answer(activated);
  t.same(queue.entries[0]!.state, 'done', "the current key's answer is kept");
  t.same(queue.entries[0]!.result?.status, 'activated');
  await clock.advance(COOLDOWN);
  t.same(sent(), ['A'], 'nothing else is ever sent');
  t.same(queue.status, { state: 'idle' });
  t.ok(events.some((e) => e.type === 'key' && e.entry.key === 'B' && e.entry.state === 'cancelled'), 'the page hears of it');
});

t.test('RateLimited: stop, keep every key waiting, resume by itself after the cooldown', async (t) => {
  const { clock, queue, answer, sent, statuses } = setup();
  queue.add(['A', 'B', 'C']);
  await settle();
  await answer(activated);
  await clock.advance(PAUSE);
  const limitedAt = clock.now();
  await answer(rateLimited); // B
  t.same(queue.entries.map((e) => e.state), ['done', 'waiting', 'waiting']);
  t.equal(queue.entries[1]!.result?.status, 'rate-limited', 'B shows why it waits');
  t.equal(queue.entries[1]!.result?.keyUnused, true);
  t.same(queue.status, { state: 'cooldown', resumesAt: limitedAt + COOLDOWN }, 'tells when sending resumes');
  queue.add(['D']);
  t.equal(queue.entries[3]!.state, 'waiting', 'a key added during the cooldown waits too');
  await clock.advance(COOLDOWN - 1);
  t.same(sent(), ['A', 'B'], 'nothing is sent during the cooldown');
  await clock.advance(1);
  t.same(sent(), ['A', 'B', 'B'], 'B goes first again: it was not consumed');
  t.same(queue.entries.map((e) => e.state), ['done', 'redeeming', 'queued', 'queued']);
  t.equal(queue.entries[1]!.result, undefined, 'the old rate-limit note is gone while it is with Steam');
  await answer(activated);
  t.same(statuses().map((s) => s.state), ['running', 'cooldown', 'running']);
});

t.test('a second RateLimited waits a second cooldown: never a retry loop', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A']);
  await settle();
  await answer(rateLimited);
  await clock.advance(COOLDOWN);
  await answer(rateLimited);
  t.same(sent(), ['A', 'A']);
  await clock.advance(COOLDOWN - 1);
  t.same(sent(), ['A', 'A'], 'exactly one attempt per cooldown');
  t.equal(queue.status.state, 'cooldown');
});

t.test('cancel during a cooldown cancels the waiting keys; the cooldown still holds new keys', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B']);
  await settle();
  await answer(rateLimited);
  queue.cancel();
  t.same(queue.entries.map((e) => e.state), ['cancelled', 'cancelled']);
  t.equal(queue.entries[0]!.result?.status, 'rate-limited', 'A keeps the reason it was not activated');
  await clock.advance(COOLDOWN / 2);
  queue.add(['C']);
  t.equal(queue.entries[2]!.state, 'waiting');
  await clock.advance(COOLDOWN / 2 - 1);
  t.same(sent(), ['A']);
  await clock.advance(1);
  t.same(sent(), ['A', 'C'], 'C goes when the original cooldown ends; A and B stay cancelled');
});

t.test('cancel while the key with Steam is rate-limited: it is cancelled, not left waiting', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B']);
  await settle();
  queue.cancel();
  await answer(rateLimited);
  t.same(queue.entries.map((e) => e.state), ['cancelled', 'cancelled']);
  await clock.advance(COOLDOWN * 2);
  t.same(sent(), ['A']);
});

t.test('an unknown result stops the queue until resume()', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B']);
  await settle();
  await answer(timedOut);
  t.equal(queue.entries[0]!.state, 'done');
  t.equal(queue.entries[0]!.result?.status, 'unknown', 'unknown, never failed');
  await clock.advance(COOLDOWN);
  t.same(sent(), ['A']);
  t.same(queue.status, { state: 'stalled', stalledBy: 'unknown-result' });
  queue.resume();
  await settle();
  t.same(sent(), ['A', 'B']);
});

t.test('opening the gate again (signed in again) also ends an unknown-result stall', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B']);
  await settle();
  queue.close(); // the session lost Steam while A was out
  await answer({ sent: true, result: unknownResult('disconnected') });
  t.same(queue.status, { state: 'stalled', stalledBy: 'signed-out' }, 'signing in is what the user must do first');
  queue.open();
  await clock.advance(PAUSE);
  t.same(sent(), ['A', 'B']);
});

t.test('a key that never reached Steam stays first in line and the gate closes', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B']);
  await settle();
  await answer({ sent: false });
  t.same(queue.entries.map((e) => e.state), ['queued', 'queued']);
  t.same(queue.status, { state: 'stalled', stalledBy: 'signed-out' });
  await clock.advance(COOLDOWN);
  t.same(sent(), ['A'], 'no retry loop against a session that cannot send');
  queue.open();
  await clock.advance(PAUSE);
  t.same(sent(), ['A', 'A']);
});

t.test('keys added before sign-in wait, then go', async (t) => {
  const { queue, sent } = setup({ open: false });
  queue.add(['A']);
  await settle();
  t.same(sent(), []);
  t.same(queue.status, { state: 'stalled', stalledBy: 'signed-out' });
  queue.open();
  await settle();
  t.same(sent(), ['A']);
});

t.test('closing the gate during the pause sends nothing more', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B']);
  await settle();
  await answer(activated);
  queue.close();
  await clock.advance(PAUSE * 10);
  t.same(sent(), ['A']);
  queue.open();
  await settle();
  t.same(sent(), ['A', 'B'], 'the pause is long over');
});

t.test('dispose stops every timer', async (t) => {
  const { clock, queue, answer, sent } = setup();
  queue.add(['A', 'B']);
  await settle();
  await answer(rateLimited);
  t.equal(clock.pending, 1);
  queue.dispose();
  t.equal(clock.pending, 0);
  await clock.advance(COOLDOWN);
  t.same(sent(), ['A']);
});

t.test('events: every entry change and each queue state, once', async (t) => {
  const { clock, queue, answer, events } = setup();
  queue.add(['A', 'B']);
  await settle();
  await answer(activated);
  await clock.advance(PAUSE);
  await answer(owned);
  const summary = events.map((e) => (e.type === 'key' ? `${e.entry.key}:${e.entry.state}` : `queue:${e.state}`));
  t.same(summary, ['A:redeeming', 'queue:running', 'A:done', 'B:redeeming', 'B:done', 'queue:idle']);
  const done = events.find((e) => e.type === 'key' && e.entry.state === 'done');
  t.ok(done && done.type === 'key' && done.entry.result?.status === 'activated', 'a done event carries the result');
});
