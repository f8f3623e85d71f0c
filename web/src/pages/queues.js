// Queues: depth, work in flight, readers and throughput; admins pause and resume.
import { get, post } from '../api.js';
import { html } from '../html.js';
import { Action, ErrorNote, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';

export function Queues({ me }) {
  const { data, error, reload } = usePoll(() => get('/v1/queues'), [], { ms: 2000 });
  const admin = me.role === 'admin';
  const toggle = (q) => async () => {
    const r = await post(`/v1/queues/${encodeURIComponent(q.name)}/${q.paused ? 'resume' : 'pause'}`);
    reload();
    return r.paused ? 'paused' : 'resumed';
  };
  return html`
    <${ErrorNote} error=${error} />
    <${Table} testid="queues-table" head=${['Queue', 'State', 'Waiting', 'In flight', 'Entries', 'Workers', 'Per minute', '']}
      empty=${data ? 'No queues.' : 'Loading…'}
      rows=${(data ? data.queues : []).map((q) => html`<tr data-queue=${q.name}>
        <td>${q.name}</td>
        <td>${q.paused ? html`<span class="status status-paused" data-testid="queue-state">paused</span>`
                       : html`<span class="status status-completed" data-testid="queue-state">active</span>`}</td>
        <td>${q.waiting}</td><td>${q.in_flight}</td><td>${q.entries}</td><td>${q.workers}</td>
        <td>${q.throughput_per_minute ?? '—'}</td>
        <td>${admin && html`<${Action} key=${`${q.name}-${q.paused}`} label=${q.paused ? 'Resume' : 'Pause'}
          testid=${q.paused ? 'resume' : 'pause'} run=${toggle(q)} />`}</td>
      </tr>`)} />`;
}
