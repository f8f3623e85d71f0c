// Cron schedules: when each fires next, what it fired last; admins pause,
// resume and trigger (GET /v1/schedules and its POST routes).
import { get, post } from '../api.js';
import { html } from '../html.js';
import { Action, ErrorNote, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';

export function Schedules({ me }) {
  const { data, error, reload } = usePoll(() => get('/v1/schedules'), [], { ms: 2000 });
  const admin = me.role === 'admin';
  const act = (s, action) => async () => {
    const r = await post(`/v1/schedules/${encodeURIComponent(s.name)}/${action}`);
    reload();
    if (action === 'trigger') return 'run started';
    return r.paused ? 'paused' : 'resumed';
  };
  return html`
    <${ErrorNote} error=${error} />
    <${Table} testid="schedules-table"
      head=${['Schedule', 'Workflow', 'Cron', 'Time zone', 'State', 'Next tick', 'Last tick', 'Last run', 'Runs', '']}
      empty=${data ? 'No schedules (a workflows file\u2019s schedules: section publishes them).' : 'Loading…'}
      rows=${(data ? data.schedules : []).map((s) => html`<tr data-schedule=${s.name}>
        <td>${s.name}</td><td>${s.workflow}</td><td class="mono">${s.cron}</td><td>${s.timezone}</td>
        <td>${s.paused ? html`<span class="status status-paused" data-testid="schedule-state">paused</span>`
                       : html`<span class="status status-completed" data-testid="schedule-state">active</span>`}</td>
        <td class="mono" data-testid="next-tick">${s.next_ticks[0] ?? (s.error ? `error: ${s.error}` : '—')}</td>
        <td class="mono">${s.last_tick ?? '—'}</td>
        <td class="mono">${s.last_run ? html`<a href=${`#/runs/${s.last_run}`} data-testid="last-run">${s.last_run}</a>` : '—'}</td>
        <td>${s.runs_started}</td>
        <td>${admin && html`
          <${Action} key=${`${s.name}-${s.paused}`} label=${s.paused ? 'Resume' : 'Pause'}
            testid=${s.paused ? 'resume' : 'pause'} run=${act(s, s.paused ? 'resume' : 'pause')} />
          <${Action} label="Run now" testid="trigger" run=${act(s, 'trigger')} />`}</td>
      </tr>`)} />`;
}
