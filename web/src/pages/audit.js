// The audit log (admin tokens only): who cancelled, replayed, purged, paused.
import { useState } from 'preact/hooks';
import { get, query } from '../api.js';
import { html } from '../html.js';
import { ErrorNote, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';
import { clock } from '../format.js';

export function Audit() {
  const [before, setBefore] = useState('');
  const { data, error } = usePoll(() => get(`/v1/audit${query({ limit: 100, before })}`), [before],
    { ms: 5000, live: !before });
  const entries = data ? data.entries : [];
  return html`
    <${ErrorNote} error=${error} />
    <${Table} testid="audit-table" head=${['When', 'Who', 'Action', 'Target', 'Detail']}
      empty=${data ? 'Nothing audited yet.' : 'Loading…'}
      rows=${entries.map((e) => html`<tr>
        <td>${clock(e.at)}</td><td>${e.who}</td><td>${e.action}</td><td class="mono">${e.target}</td>
        <td class="clip mono">${e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : ''}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!before} onClick=${() => setBefore('')}>← Newest</button>
      <button class="button plain" disabled=${entries.length < 100}
        onClick=${() => setBefore(entries[entries.length - 1].id)}>Older →</button>
    </nav>`;
}
