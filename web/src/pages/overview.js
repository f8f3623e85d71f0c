// Overview: runs finished and failed per minute over the last hour, queue
// depths, and the counts an operator checks first (dead letters, workers).
import { get } from '../api.js';
import { html } from '../html.js';
import { LineChart } from '../parts/chart.js';
import { ErrorNote, Table } from '../parts/common.js';
import { usePoll } from '../poll.js';
import { ago } from '../format.js';

// The per-minute sum over workflows of one count ("completed": {"wf": [...]}).
function sumOver(byWorkflow, length) {
  const out = new Array(length).fill(null);
  for (const values of Object.values(byWorkflow || {})) {
    values.forEach((v, i) => {
      if (v !== null && v !== undefined) out[i] = (out[i] || 0) + v;
    });
  }
  return out;
}

const TONES = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];

export function Overview() {
  const { data, error } = usePoll(async () => {
    const [series, queues, dlq, workers] = await Promise.all([
      get('/v1/stats/series'),
      get('/v1/queues'),
      get('/v1/dlq?limit=1000'),
      get('/v1/workers'),
    ]);
    return { series, queues: queues.queues, dead: dlq.dead_letters, workers: workers.workers };
  }, [], { ms: 5000 });
  if (!data) return html`<${ErrorNote} error=${error} />${!error && html`<p class="muted">Loading…</p>`}`;
  const { series, queues, dead, workers } = data;
  const n = series.minutes.length;
  const c = series.counts || {};
  const live = workers.filter((w) => Date.now() - Date.parse(w.beat_at) < 15000).length;
  return html`
    <${ErrorNote} error=${error} />
    <section class="cards">
      <a class="card" href="#/dlq" data-testid="card-dlq"><b>${dead.length}${dead.length >= 1000 ? '+' : ''}</b> dead letters</a>
      <a class="card" href="#/workers"><b>${live}</b> live workers</a>
      <a class="card" href="#/queues"><b>${queues.reduce((a, q) => a + q.waiting, 0)}</b> steps waiting</a>
      <a class="card" href="#/queues"><b>${queues.filter((q) => q.paused).length}</b> paused queues</a>
    </section>
    <section class="charts">
      <${LineChart} testid="chart-throughput" title="Runs per minute (last hour)" minutes=${series.minutes}
        series=${[
          { name: 'submitted', values: sumOver(c.submitted, n), tone: 'c2' },
          { name: 'completed', values: sumOver(c.completed, n), tone: 'ok' },
          { name: 'retried steps', values: sumOver(c.retried, n), tone: 'warn' },
          { name: 'failed', values: sumOver(c.failed, n), tone: 'bad' },
        ]} />
      <${LineChart} testid="chart-depth" title="Queue depth (entries at each minute)" minutes=${series.minutes}
        summary="last"
        series=${Object.entries(series.queue_depth || {}).map(([q, values], i) => ({
          name: q, values, tone: TONES[i % TONES.length],
        }))} />
    </section>
    <h2>Queues</h2>
    <${Table} head=${['Queue', 'Waiting', 'In flight', 'Workers', 'Per minute', '']}
      rows=${queues.map((q) => html`<tr>
        <td>${q.name}</td><td>${q.waiting}</td><td>${q.in_flight}</td><td>${q.workers}</td>
        <td>${q.throughput_per_minute ?? '—'}</td><td>${q.paused ? html`<span class="status status-paused">paused</span>` : ''}</td>
      </tr>`)} />
    <h2>Newest dead letters</h2>
    <${Table} head=${['Run', 'Workflow', 'Step', 'Error', 'When']} empty="No dead letters."
      rows=${dead.slice(0, 5).map((d) => html`<tr>
        <td><a href=${`#/runs/${d.run_id}`} class="mono">${d.run_id}</a></td><td>${d.workflow}</td>
        <td>${d.step}</td><td class="clip">${d.error}</td><td>${ago(d.at)}</td>
      </tr>`)} />`;
}
