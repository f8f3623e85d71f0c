// Small shared pieces: status badges, error notes, JSON blocks, tables.
import { useState } from 'preact/hooks';
import { html } from '../html.js';

// Run statuses (CONTRACTS §1), as the runs filter takes them.
export const STATUSES = ['scheduled', 'queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'cancelled'];

export function Status({ status }) {
  return html`<span class=${`status status-${status}`} data-status=${status}>${status}</span>`;
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error}</p>`;
}

export function Json({ value }) {
  if (value === undefined || value === null) return html`<span class="muted">none</span>`;
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

// A table; `empty` is shown instead of an empty body.
export function Table({ head, rows, empty = 'Nothing here.', testid }) {
  return html`
    <div class="table-wrap">
      <table data-testid=${testid}>
        <thead><tr>${head.map((c) => html`<th>${c}</th>`)}</tr></thead>
        <tbody>
          ${rows.length ? rows : html`<tr><td colspan=${head.length} class="muted">${empty}</td></tr>`}
        </tbody>
      </table>
    </div>`;
}

// A button for an action that changes state. With `confirm`, the first click
// asks (in place, no browser dialog) and only "Yes, …" acts; "No" (testid
// `<testid>-dismiss`) puts the button back and does nothing. While the
// action runs the button is disabled; its error (the API's detail) shows next
// to it, its success message too.
export function Action({ label, confirm, run, danger = false, testid }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState(null);
  const act = async () => {
    setAsking(false);
    setBusy(true);
    setNote(null);
    try {
      const message = await run();
      setNote(message ? { ok: true, text: message } : null);
    } catch (e) {
      setNote({ ok: false, text: e.message });
    } finally {
      setBusy(false);
    }
  };
  const cls = danger ? 'button danger' : 'button';
  return html`
    <span class="action">
      ${asking
        ? html`<span class="confirm" role="group">
            <span>${confirm}</span>
            <button class=${cls} data-testid=${testid && `${testid}-confirm`} onClick=${act}>Yes, ${label.toLowerCase()}</button>
            <button class="button plain" data-testid=${testid && `${testid}-dismiss`} onClick=${() => setAsking(false)}>No</button>
          </span>`
        : html`<button class=${cls} disabled=${busy} data-testid=${testid}
            onClick=${() => (confirm ? setAsking(true) : act())}>${busy ? `${label}…` : label}</button>`}
      ${note && html`<span class=${note.ok ? 'note ok' : 'note error'} role=${note.ok ? 'status' : 'alert'}>${note.text}</span>`}
    </span>`;
}
