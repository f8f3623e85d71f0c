// One run: its steps as a timeline (each bar spans the step's first start to
// its finish, on the run's own time axis), every attempt, the input and
// outputs (secrets were redacted by the worker before they were stored), what
// it waits for, and — for admin tokens — cancel, rerun from a step, replay;
// a run waiting for a signal (an approval) can be sent it from here by any
// token that may submit.
import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { html } from '../html.js';
import { navigate, runLink } from '../router.js';
import { Action, ErrorNote, Json, Status, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';
import { between, clock, duration, startsAt, waitingInWords } from '../format.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

function Timeline({ run, now }) {
  const start = Date.parse(run.created_at);
  const ends = run.steps.map((s) => (s.finished_at ? Date.parse(s.finished_at) : s.started_at ? now : start));
  const end = Math.max(start + 1, ...ends, TERMINAL.has(run.status) ? Date.parse(run.updated_at) : now);
  const span = end - start;
  const pct = (t) => `${(((t - start) / span) * 100).toFixed(2)}%`;
  return html`
    <ol class="timeline" data-testid="timeline">
      ${run.steps.map((s) => {
        const from = s.started_at ? Date.parse(s.started_at) : null;
        const to = s.finished_at ? Date.parse(s.finished_at) : now;
        return html`<li class="step" data-step=${s.name} data-status=${s.status}>
          <div class="step-head">
            <b>${s.name}</b> <${Status} status=${s.status} />
            <span class="muted">${s.attempts} attempt${s.attempts === 1 ? '' : 's'}</span>
            ${s.child && html`<a class="mono" data-testid="child" href=${runLink(s.child)}>child ${s.child}</a>`}
            ${s.items && html`<span class="muted" data-testid="items">${s.items.completed + s.items.failed} of ${s.items.total} items${s.items.failed ? ` (${s.items.failed} failed)` : ''}</span>`}
            ${s.started_at && html`<span class="muted">${duration(between(s.started_at, s.finished_at || new Date(now).toISOString()))}</span>`}
          </div>
          <div class="track">
            ${from !== null && html`<span class=${`bar status-${s.status}`}
              style=${{ left: pct(from), width: `max(2px, ${pct(start + Math.max(0, to - from))})` }}></span>`}
          </div>
          ${s.waiting_for && html`<p class="waiting">${waitingInWords(s.waiting_for, now)}</p>`}
          ${s.message && html`<p class="muted">${s.message}${s.progress !== null ? ` (${Math.round(s.progress * 100)}%)` : ''}</p>`}
        </li>`;
      })}
    </ol>`;
}

function StepDetails({ step }) {
  return html`
    <details class="step-details" data-step=${step.name} open=${step.status === 'failed'}>
      <summary><b>${step.name}</b> <${Status} status=${step.status} /> ${step.worker && html`<span class="muted">on ${step.worker}</span>`}</summary>
      ${step.error && html`<p class="error">${step.error}</p>`}
      <h4>Attempts</h4>
      <${Table} head=${['#', 'Outcome', 'Worker', 'Started', 'Took', 'Error']} empty="No finished attempt yet."
        rows=${(step.attempt_history || []).map((a) => html`<tr>
          <td>${a.attempt}</td><td><${Status} status=${a.outcome} /></td><td class="mono">${a.worker}</td>
          <td>${clock(a.started_at)}</td><td>${duration(between(a.started_at, a.finished_at))}</td>
          <td class="clip">${a.error || ''}</td></tr>`)} />
      <h4>Output</h4>
      <${Json} value=${step.output} />
    </details>`;
}

function Actions({ run, reload }) {
  const [from, setFrom] = useState(run.steps.find((s) => s.status !== 'completed')?.name || run.steps[0]?.name);
  const ended = TERMINAL.has(run.status);
  return html`
    <div class="actions" data-testid="run-actions">
      ${!ended && html`<${Action} label="Cancel" danger testid="cancel" confirm="Cancel this run?"
        run=${async () => { const r = await post(`/v1/runs/${run.id}/cancel`); reload(); return `run ${r.result}`; }} />`}
      ${run.status === 'failed' && html`<${Action} label="Replay" testid="replay"
        run=${async () => { await post(`/v1/dlq/${run.id}/replay`); reload(); return 'replayed: the failed step runs again'; }} />`}
      <span class="rerun">
        <label>Rerun from
          <select value=${from} onChange=${(e) => setFrom(e.currentTarget.value)} data-testid="rerun-step">
            ${run.steps.map((s) => html`<option value=${s.name}>${s.name}</option>`)}
          </select>
        </label>
        <${Action} label="Rerun" testid="rerun" confirm=${`Start a new run from step “${from}”?`}
          run=${async () => { const r = await post(`/v1/runs/${run.id}/rerun`, { from_step: from }); navigate(`/runs/${r.run_id}`); }} />
      </span>
    </div>`;
}

// A run waiting for a signal: send it, with a JSON body that becomes the
// waiting step's output (POST /v1/runs/{id}/signals/{name}).
function SignalForm({ run, signal, reload }) {
  const [body, setBody] = useState('{"approved": true}');
  return html`
    <div class="actions signal-form" data-testid="signal-form">
      <label>Body of the signal “${signal}” (JSON; the step's output)
        <textarea rows="3" spellcheck="false" data-testid="signal-body" value=${body}
          onInput=${(e) => setBody(e.currentTarget.value)}></textarea>
      </label>
      <${Action} label=${`Send “${signal}”`} testid="send-signal"
        run=${async () => {
          let parsed;
          try {
            parsed = body.trim() === '' ? null : JSON.parse(body);
          } catch (e) {
            throw new Error(`the body is not JSON: ${e.message}`);
          }
          const r = await post(`/v1/runs/${run.id}/signals/${encodeURIComponent(signal)}`, parsed);
          reload();
          return r.result === 'delivered' ? 'sent: the step takes it now' : `signal ${r.result}`;
        }} />
    </div>`;
}

export function Run({ id, me }) {
  // Polled while it can still change; an action's reload wakes it up again.
  const [ended, setEnded] = useState(false);
  const { data: run, error, reload } = usePoll(() => get(`/v1/runs/${encodeURIComponent(id)}`), [id],
    { ms: 1500, live: !ended });
  const status = run && run.id === id ? run.status : null;
  useEffect(() => setEnded(TERMINAL.has(status)), [status]);
  useEffect(() => {
    document.title = run && run.id === id ? `Run ${run.id} (${run.workflow}, ${run.status}) · steadfast` : 'steadfast';
    return () => { document.title = 'steadfast'; };
  }, [id, run && run.id, run && run.status]);
  if (!run) {
    return html`<h1 class="page-title run-title">Run <span class="mono">${id}</span></h1>
      <${ErrorNote} error=${error} />${!error && html`<p class="muted">Loading…</p>`}`;
  }
  const now = Date.now();
  return html`
    <header class="run-head">
      <h1 class="page-title run-title" data-testid="run-title">
        Run <span class="mono" data-testid="run-id">${run.id}</span>${' '}<span class="workflow">${run.workflow}</span>${' '}<${Status} status=${run.status} />
      </h1>
      <${ErrorNote} error=${error} />
      <dl class="facts">
        <dt>Workflow</dt><dd>${run.workflow}</dd>
        <dt>Created</dt><dd>${clock(run.created_at)}</dd>
        ${run.run_at && html`<dt>Scheduled</dt><dd data-testid="run-at" title=${run.run_at}>${startsAt(run.run_at, now)}</dd>`}
        ${run.deadline_at && html`<dt>Deadline</dt><dd data-testid="deadline-at" title=${run.deadline_at}>${clock(run.deadline_at)}</dd>`}
        <dt>Updated</dt><dd>${clock(run.updated_at)}</dd>
        ${run.parent && html`<dt>Parent</dt><dd data-testid="parent"><a class="mono" href=${runLink(run.parent.run_id)}>${run.parent.run_id}</a> step ${run.parent.step}</dd>`}
        ${run.rerun_of && html`<dt>Rerun of</dt><dd><a class="mono" href=${runLink(run.rerun_of)}>${run.rerun_of}</a> from ${run.rerun_from}</dd>`}
        <dt>Metadata</dt><dd>${Object.entries(run.metadata || {}).map(([k, v]) => html`<span class="tag">${k}=${v}</span>`)}</dd>
      </dl>
      ${run.waiting_for && html`<p class="waiting" data-testid="waiting-for">${waitingInWords(run.waiting_for, now)}</p>`}
      ${run.waiting_for?.kind === 'signal' && (me.role === 'admin' || me.role === 'submit') &&
        html`<${SignalForm} run=${run} signal=${run.waiting_for.signal} reload=${reload} />`}
      ${me.role === 'admin' && html`<${Actions} run=${run} reload=${reload} />`}
    </header>
    <h3>Timeline</h3>
    <${Timeline} run=${run} now=${now} />
    <h3>Steps</h3>
    ${run.steps.map((s) => html`<${StepDetails} step=${s} />`)}
    <h3>Input</h3>
    <${Json} value=${run.input} />`;
}
