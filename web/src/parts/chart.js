// A line chart of per-minute values, drawn as SVG by hand (no chart library:
// a few dozen lines do what the overview needs, and nothing to keep up to
// date). `null` values (no sample that minute) leave a gap in the line.
import { html } from '../html.js';

const W = 600;
const H = 150;
const PAD = 4;

function path(values, max) {
  let d = '';
  let pen = false;
  const step = values.length > 1 ? (W - 2 * PAD) / (values.length - 1) : 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      pen = false;
      return;
    }
    const x = PAD + i * step;
    const y = H - PAD - (max > 0 ? (v / max) * (H - 2 * PAD) : 0);
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
    pen = true;
  });
  return d;
}

// series: [{name, values, tone}] (tone: a CSS class, e.g. "ok", "bad", "c2").
export function LineChart({ title, minutes, series, testid, summary = 'total' }) {
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined)));
  const first = minutes[0] ? new Date(minutes[0]) : null;
  const last = minutes.length ? new Date(minutes[minutes.length - 1]) : null;
  const hm = (d) => (d ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false }) : '');
  const total = (s) => s.values.reduce((a, v) => a + (v || 0), 0);
  const latest = (s) => [...s.values].reverse().find((v) => v !== null && v !== undefined) ?? '—';
  const shown = summary === 'last' ? latest : total;
  return html`
    <figure class="chart" data-testid=${testid}>
      <figcaption>${title}</figcaption>
      <div class="chart-body">
        <span class="chart-max">${max}</span>
        <svg viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label=${title}>
          <line class="grid" x1="0" x2=${W} y1=${H / 2} y2=${H / 2} />
          <line class="axis" x1="0" x2=${W} y1=${H - PAD} y2=${H - PAD} />
          ${series.map((s) => html`<path class=${`line ${s.tone}`} d=${path(s.values, max)} />`)}
        </svg>
      </div>
      <div class="chart-foot"><span>${hm(first)}</span><span>${hm(last)}</span></div>
      <ul class="legend">
        ${series.map((s) => html`<li><i class=${`swatch ${s.tone}`}></i>${s.name} <b>${shown(s)}</b></li>`)}
      </ul>
    </figure>`;
}
