// format.js without a browser (node --test; dashboard_test.sh runs it first):
// every waiting_for kind of CONTRACTS §2 has its own sentence, and a
// scheduled run's start is told in words.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { WAIT_KINDS, fromNow, startsAt, waitingInWords } from '../src/format.js';

const now = Date.parse('2026-12-02T10:00:00.000Z');
const at = (ms) => new Date(now + ms).toISOString();
const SAMPLES = {
  retry: { until: at(3000) }, sleep: { until: at(60000) }, signal: { signal: 'approved' },
  child: { run_id: '01CHILD' }, limiter: { limiter: 'llm', key: 'acme' }, fairness: { queue: 'py', key: 'acme' },
  max_parallel: {}, queue_paused: { queue: 'work' }, no_worker: { queue: 'py' },
  scheduled: { until: at(9 * 60000) }, needs: {},
};

test('every waiting_for kind has a sentence of its own', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), [...WAIT_KINDS].sort());
  const sentences = WAIT_KINDS.map((kind) => waitingInWords({ kind, until: null, ...SAMPLES[kind] }, now));
  for (const [i, s] of sentences.entries()) {
    assert.ok(s && !s.startsWith('waiting ('), `${WAIT_KINDS[i]}: ${s}`);
    assert.ok(!/undefined|null/.test(s), `${WAIT_KINDS[i]}: ${s}`);
  }
  assert.equal(new Set(sentences).size, sentences.length, 'no two kinds read alike');
  assert.match(waitingInWords({ kind: 'signal', signal: 'approved' }, now), /approved/);
  assert.match(waitingInWords({ kind: 'child', run_id: '01CHILD' }, now), /01CHILD/);
  assert.match(waitingInWords({ kind: 'queue_paused', queue: 'work' }, now), /“work” is paused/);
});

test('a scheduled run starts at a time, in words', () => {
  const s = waitingInWords({ kind: 'scheduled', until: at(9 * 60000) }, now);
  assert.match(s, /^scheduled: starts at .+ \(in 9 min\)$/);
  assert.match(startsAt(at(-120000), now), /^started at .+ \(2 min 0 s ago\)$/);
  assert.equal(fromNow(at(40000), now), 'in 40 s');
  assert.equal(fromNow(at(3600000), now), 'in 1 h');
  assert.equal(fromNow(at(3600000 - 20000), now), 'in 1 h');
  assert.equal(fromNow(at(65 * 60000), now), 'in 1 h 5 min');
  assert.equal(fromNow(at(50 * 3600000), now), 'in 2 d 2 h');
});
