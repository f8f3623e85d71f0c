// Runs: the run list with its filters (workflow, status, metadata, creation
// time), cursor paging and live refresh. The filters live in the URL hash, so
// a filtered view can be reloaded or shared.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, query } from '../api.js';
import { html } from '../html.js';
import { navigate, runLink } from '../router.js';
import { ErrorNote, STATUSES, Status, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';
import { ago, startsAt } from '../format.js';

const FILTERS = ['workflow', 'status', 'meta', 'created_after', 'created_before'];

// "customer=acme region=eu" → {"meta.customer": "acme", "meta.region": "eu"}.
export function metaParams(text) {
  const out = {};
  for (const pair of (text || '').split(/[\s,]+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[`meta.${pair.slice(0, eq)}`] = pair.slice(eq + 1);
  }
  return out;
}

// <input type=datetime-local> holds local time without a zone; the API wants RFC 3339.
const toRfc3339 = (local) => (local ? new Date(local).toISOString() : '');

export function Runs({ params }) {
  const filter = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const cursor = params.get('cursor') || '';
  const [live, setLive] = useState(true);
  const [workflows, setWorkflows] = useState([]);
  const previous = useRef([]);  // cursors of the pages before this one
  useEffect(() => {
    get('/v1/workflows').then((w) => setWorkflows(w.workflows.map((x) => x.name)), () => {});
  }, []);

  const key = JSON.stringify([filter, cursor]);
  const { data, error } = usePoll(() => get(`/v1/runs${query({
    workflow: filter.workflow,
    status: filter.status,
    created_after: toRfc3339(filter.created_after),
    created_before: toRfc3339(filter.created_before),
    limit: 50,
    cursor,
    ...metaParams(filter.meta),
  })}`), [key], { live: live && !cursor });

  const show = (changes, keepPaging = false) => {
    if (!keepPaging) previous.current = [];
    const next = { ...filter, cursor, ...changes };
    if (!keepPaging) next.cursor = '';
    navigate('/runs', Object.fromEntries(Object.entries(next).filter(([, v]) => v)), true);
  };
  const onSubmit = (e) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    show(Object.fromEntries(FILTERS.map((k) => [k, String(form.get(k) || '').trim()])));
  };

  // The text inputs are uncontrolled (defaultValue): a live refresh re-renders
  // this page every few seconds, and a controlled value would put back the
  // URL's filter over what the user is typing. The form is remounted (its key)
  // when the filter in the URL changes, so it always starts from it.
  return html`
    <form class="filters" onSubmit=${onSubmit} data-testid="run-filters" key=${JSON.stringify(filter)}>
      <label>Workflow
        <select name="workflow" value=${filter.workflow} onChange=${(e) => show({ workflow: e.currentTarget.value })}>
          <option value="">any</option>
          ${workflows.map((w) => html`<option value=${w}>${w}</option>`)}
        </select>
      </label>
      <label>Status
        <select name="status" value=${filter.status} data-testid="filter-status"
          onChange=${(e) => show({ status: e.currentTarget.value })}>
          <option value="">any</option>
          <option value="live">live (not ended)</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <label class="grow">Metadata
        <input name="meta" defaultValue=${filter.meta} placeholder="customer=acme region=eu" data-testid="filter-meta" />
      </label>
      <label>Created after
        <input name="created_after" type="datetime-local" defaultValue=${filter.created_after} />
      </label>
      <label>Created before
        <input name="created_before" type="datetime-local" defaultValue=${filter.created_before} />
      </label>
      <button class="button" type="submit" data-testid="filter-apply">Filter</button>
      <label class="check"><input type="checkbox" checked=${live} onChange=${(e) => setLive(e.currentTarget.checked)} /> live</label>
    </form>
    <${ErrorNote} error=${error} />
    <${Table} testid="runs-table" head=${['Run', 'Workflow', 'Status', 'Metadata', 'Created', 'Updated']}
      empty=${data ? 'No run matches.' : 'Loading…'}
      rows=${(data ? data.runs : []).map((r) => html`<tr data-run=${r.id}>
        <td><a class="mono" href=${runLink(r.id)}>${r.id}</a></td>
        <td>${r.workflow}</td>
        <td><${Status} status=${r.status} />${r.status === 'scheduled' && r.run_at && html`
          <span class="muted starts" data-testid="run-at" title=${r.run_at}>${startsAt(r.run_at)}</span>`}</td>
        <td class="meta">${Object.entries(r.metadata || {}).map(([k, v]) => html`<span class="tag">${k}=${v}</span>`)}</td>
        <td title=${r.created_at}>${ago(r.created_at)}</td>
        <td title=${r.updated_at}>${ago(r.updated_at)}</td>
      </tr>`)} />
    <nav class="pager">
      <button class="button plain" disabled=${!cursor}
        onClick=${() => show({ cursor: previous.current.pop() || '' }, true)}>← Newer</button>
      <button class="button plain" disabled=${!data || !data.next_cursor} data-testid="next-page"
        onClick=${() => { previous.current.push(cursor); show({ cursor: data.next_cursor }, true); }}>Older →</button>
      ${cursor && html`<span class="muted">live refresh pauses on older pages</span>`}
    </nav>`;
}
