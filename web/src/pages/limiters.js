// Limiters: their bounds, what is left in the bucket, holders and recent waits.
import { get } from '../api.js';
import { html } from '../html.js';
import { ErrorNote, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';
import { clock } from '../format.js';

function bounds(b) {
  const parts = [];
  if (b.requests_per_minute) parts.push(`${b.requests_per_minute} req/min`);
  if (b.tokens_per_minute) parts.push(`${b.tokens_per_minute} tokens/min`);
  if (b.concurrency) parts.push(`${b.concurrency} at once`);
  return parts.join(', ') || '—';
}

export function Limiters() {
  const { data, error } = usePoll(() => get('/v1/limiters'), [], { ms: 3000 });
  return html`
    <${ErrorNote} error=${error} />
    <${Table} testid="limiters-table" head=${['Limiter', 'Bounds', 'Tokens left', 'Holders', 'Admitted', 'Waits', 'This minute', 'Paused until']}
      empty=${data ? 'No limiters configured.' : 'Loading…'}
      rows=${(data ? data.limiters : []).map((l) => html`<tr>
        <td>${l.name}</td><td>${bounds(l.bounds || {})}</td><td>${l.tokens ?? '—'}</td><td>${l.holders}</td>
        <td>${l.admitted}</td><td>${l.waits}</td>
        <td>${l.recent ? `${l.recent.admitted_this_minute} in, ${l.recent.waits_this_minute} waited` : '—'}</td>
        <td>${l.paused_until ? clock(l.paused_until) : '—'}</td>
      </tr>`)} />`;
}
