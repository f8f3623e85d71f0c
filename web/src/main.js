// The dashboard's shell: learns who the token is (GET /v1/me), asks for a
// token when the server wants one, and shows the page the hash names.
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { get, onUnauthorized, setToken, token } from './api.js';
import { html } from './html.js';
import { useRoute } from './router.js';
import { ErrorNote } from './parts/common.js';
import { Overview } from './pages/overview.js';
import { Runs } from './pages/runs.js';
import { Run } from './pages/run.js';
import { DeadLetters } from './pages/dlq.js';
import { Queues } from './pages/queues.js';
import { Schedules } from './pages/schedules.js';
import { Workers } from './pages/workers.js';
import { Limiters } from './pages/limiters.js';
import { Audit } from './pages/audit.js';

const PAGES = [
  { path: '', title: 'Overview' },
  { path: 'runs', title: 'Runs' },
  { path: 'dlq', title: 'Dead letters' },
  { path: 'queues', title: 'Queues' },
  { path: 'schedules', title: 'Schedules' },
  { path: 'workers', title: 'Workers' },
  { path: 'limiters', title: 'Limiters' },
  { path: 'audit', title: 'Audit', admin: true },
];

function Login({ error, onToken }) {
  const submit = (e) => {
    e.preventDefault();
    onToken(new FormData(e.currentTarget).get('token').trim());
  };
  return html`
    <form class="login" onSubmit=${submit} data-testid="login">
      <h1>steadfast</h1>
      <p>This server wants a bearer token (<code>serve --tokens</code>). It is kept in this tab only.</p>
      <label>Token <input name="token" type="password" autocomplete="current-password" required autofocus /></label>
      <button class="button" type="submit">Sign in</button>
      <${ErrorNote} error=${error} />
    </form>`;
}

function Page({ route, me }) {
  const [first, second] = route.parts;
  if (first === 'runs' && second) return html`<${Run} id=${second} me=${me} />`;
  switch (first || '') {
    case '': return html`<${Overview} />`;
    case 'runs': return html`<${Runs} params=${route.params} />`;
    case 'dlq': return html`<${DeadLetters} me=${me} />`;
    case 'queues': return html`<${Queues} me=${me} />`;
    case 'schedules': return html`<${Schedules} me=${me} />`;
    case 'workers': return html`<${Workers} />`;
    case 'limiters': return html`<${Limiters} />`;
    case 'audit': return me.role === 'admin' ? html`<${Audit} />` : html`<p class="error">The audit log needs an admin token.</p>`;
    default: return html`<p class="error">No such page: ${route.parts.join('/')}</p>`;
  }
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState(null);
  const [authError, setAuthError] = useState(null);
  const [needsToken, setNeedsToken] = useState(false);

  const identify = useCallback(async () => {
    // /v1/me never answers 401: role null means "no token, or not one the server knows".
    try {
      const who = await get('/v1/me');
      if (who.role) {
        setMe(who);
        setNeedsToken(false);
        setAuthError(null);
      } else {
        setMe(null);
        setNeedsToken(true);
        setAuthError(token() ? 'The server does not know this token.' : null);
      }
    } catch (e) {
      setMe(null);
      setAuthError(e.message);
    }
  }, []);
  useEffect(() => {
    identify();
    return onUnauthorized(() => { setMe(null); setNeedsToken(true); });
  }, []);

  if (needsToken) {
    return html`<${Login} error=${authError} onToken=${(t) => { setToken(t); identify(); }} />`;
  }
  if (!me) return html`<${ErrorNote} error=${authError} />${!authError && html`<p class="loading">Loading…</p>`}`;
  const current = route.parts[0] || '';
  // A run's page names the run in its own heading (id, workflow, status).
  const ownHeading = current === 'runs' && route.parts.length > 1;
  const title = PAGES.find((p) => p.path === current)?.title || 'Not found';
  return html`
    <header class="top">
      <a class="brand" href="#/">steadfast</a>
      <nav class="tabs">
        ${PAGES.filter((p) => !p.admin || me.role === 'admin').map((p) => html`
          <a href=${`#/${p.path}`} class=${p.path === current ? 'active' : ''}>${p.title}</a>`)}
      </nav>
      <span class="who" data-testid="who" data-role=${me.role}>
        ${me.tokens ? `${me.name || 'token'} (${me.role})` : 'no tokens: everyone is admin'}
        ${me.tokens && html` <button class="button plain" onClick=${() => { setToken(''); setMe(null); setNeedsToken(true); }}>Sign out</button>`}
      </span>
    </header>
    <main>
      ${!ownHeading && html`<h1 class="page-title">${title}</h1>`}
      <${Page} route=${route} me=${me} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
