// Dead letters: the failed runs, each replayable; bulk replay (a server-side
// job over every failed run, optionally of one workflow) and purge, both
// asking for confirmation first.
import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { html } from '../html.js';
import { runLink } from '../router.js';
import { Action, ErrorNote, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';
import { ago } from '../format.js';

// A bulk job's progress, polled until it ends.
function BulkJob({ id }) {
  const [job, setJob] = useState(null);
  useEffect(() => {
    let stop = false;
    const tick = async () => {
      try {
        const j = await get(`/v1/bulk/${id}`);
        if (stop) return;
        setJob(j);
        if (j.status === 'queued' || j.status === 'running') setTimeout(tick, 1000);
      } catch {
        if (!stop) setTimeout(tick, 2000);
      }
    };
    tick();
    return () => { stop = true; };
  }, [id]);
  if (!job) return null;
  return html`<p class="note" data-testid="bulk-job">Bulk ${job.action} ${job.id}: ${job.status};
    ${job.matched} matched, ${job.succeeded} done, ${job.skipped} skipped${job.error ? ` (${job.error})` : ''}</p>`;
}

export function DeadLetters({ me }) {
  const [workflow, setWorkflow] = useState('');
  const [job, setJob] = useState(null);
  const { data, error, reload } = usePoll(() => get('/v1/dlq?limit=200'), [], { ms: 3000 });
  const admin = me.role === 'admin';
  const letters = data ? data.dead_letters : [];
  const workflows = [...new Set(letters.map((d) => d.workflow))].sort();
  const scope = workflow ? `of workflow “${workflow}”` : 'of every workflow';
  const filter = workflow ? { workflow } : {};
  return html`
    <${ErrorNote} error=${error} />
    ${admin && html`<div class="toolbar" data-testid="dlq-bulk">
      <label>Workflow
        <select value=${workflow} onChange=${(e) => setWorkflow(e.currentTarget.value)}>
          <option value="">all</option>
          ${workflows.map((w) => html`<option value=${w}>${w}</option>`)}
        </select>
      </label>
      <${Action} label="Replay all" testid="replay-all" confirm=${`Replay every failed run ${scope}?`}
        run=${async () => { const j = await post('/v1/runs:bulk', { action: 'replay', filter }); setJob(j.id); return null; }} />
      <${Action} label="Purge" danger testid="purge" confirm=${`Delete every dead letter ${scope}? This cannot be undone.`}
        run=${async () => { const r = await post('/v1/dlq/purge', workflow ? filter : { confirm: true }); reload(); return `${r.purged} purged`; }} />
    </div>`}
    ${job && html`<${BulkJob} id=${job} />`}
    <${Table} testid="dlq-table" head=${['Run', 'Workflow', 'Step', 'Attempts', 'Error', 'When', '']}
      empty=${data ? 'No dead letters.' : 'Loading…'}
      rows=${letters.map((d) => html`<tr data-run=${d.run_id}>
        <td><a class="mono" href=${runLink(d.run_id)}>${d.run_id}</a></td>
        <td>${d.workflow}</td><td>${d.step}</td><td>${d.attempts}</td>
        <td class="clip" title=${d.error}>${d.error}</td><td title=${d.at}>${ago(d.at)}</td>
        <td>${admin && html`<${Action} label="Replay" testid="replay"
          run=${async () => { await post(`/v1/dlq/${d.id}/replay`); reload(); return 'replayed'; }} />`}</td>
      </tr>`)} />`;
}
