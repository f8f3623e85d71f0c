// Workers as each last registered; one whose beat is old was killed (a worker
// that stops cleanly unregisters).
import { get } from '../api.js';
import { html } from '../html.js';
import { ErrorNote, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';
import { ago } from '../format.js';

export function Workers() {
  const { data, error } = usePoll(() => get('/v1/workers'), [], { ms: 3000 });
  return html`
    <${ErrorNote} error=${error} />
    <${Table} testid="workers-table" head=${['Worker', 'Host', 'PID', 'Queues', 'Busy', 'Started', 'Last beat', 'Version']}
      empty=${data ? 'No workers registered.' : 'Loading…'}
      rows=${(data ? data.workers : []).map((w) => {
        const stale = Date.now() - Date.parse(w.beat_at) > 15000;
        return html`<tr class=${stale ? 'stale' : ''}>
          <td class="mono">${w.id}</td><td>${w.host}</td><td>${w.pid}</td><td>${(w.queues || []).join(', ')}</td>
          <td>${w.in_flight} / ${w.concurrency}</td><td>${ago(w.started_at)}</td>
          <td>${ago(w.beat_at)}${stale ? ' (gone?)' : ''}</td><td>${w.version}</td>
        </tr>`;
      })} />`;
}
