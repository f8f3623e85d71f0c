// Times and durations in words, for tables and the timeline.

export function ago(iso, now = Date.now()) {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return fromNow(iso, now);
  if (s < 5) return 'just now';
  return `${duration(s * 1000)} ago`;
}

// A time to come, roughly: "in 40 s", "in 9 min", "in 1 h 5 min", "in 3 d 2 h".
export function fromNow(iso, now = Date.now()) {
  if (!iso) return '—';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `in ${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `in ${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `in ${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

// A start time in words: "starts at 10:00:00 (in 9 min)", or "started at …
// (3 min ago)" once it has passed.
export function startsAt(iso, now = Date.now()) {
  if (!iso) return '—';
  return Date.parse(iso) > now ? `starts at ${clock(iso)} (${fromNow(iso, now)})` : `started at ${clock(iso)} (${ago(iso, now)})`;
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function clock(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { hour12: false });
}

export const between = (a, b) => (a && b ? Date.parse(b) - Date.parse(a) : null);

// waiting_for (CONTRACTS §2) in words: what the run or step is waiting for.
// Every kind has its sentence (test/format.test.mjs checks each).
export const WAIT_KINDS = ['retry', 'sleep', 'signal', 'child', 'limiter', 'fairness', 'max_parallel',
  'queue_paused', 'no_worker', 'scheduled', 'needs'];

export function waitingInWords(w, now = Date.now()) {
  if (!w) return null;
  const until = w.until ? ` (until ${clock(w.until)}, ${ago(w.until, now)})` : '';
  switch (w.kind) {
    case 'retry': return `waiting to retry${until}`;
    case 'sleep': return `sleeping${until}`;
    case 'signal': return `waiting for the signal “${w.signal}”${until}`;
    case 'child': return `waiting for the child run ${w.run_id} to finish`;
    case 'limiter': return `held by the limiter “${w.limiter}”${w.key ? ` (key ${w.key})` : ''}${until}`;
    case 'fairness': return `queued behind other keys of queue “${w.queue}” (fairness, key ${w.key})`;
    case 'max_parallel': return 'waiting: the step’s max_parallel is reached';
    case 'queue_paused': return `waiting: queue “${w.queue}” is paused`;
    case 'no_worker': return `waiting: no live worker reads queue “${w.queue}”`;
    case 'scheduled': return `scheduled: ${startsAt(w.until, now)}`;
    case 'needs': return 'waiting for the steps it needs';
    default: return `waiting (${w.kind})${until}`;
  }
}
