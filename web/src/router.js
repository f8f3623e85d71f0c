// Hash routes (#/runs?status=failed): the server serves one page, and a
// reload or a shared link lands on the same view.
import { useEffect, useState } from 'preact/hooks';

export function parseHash(hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params };
}

export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

// Changes the hash; `replace` keeps the history entry (filters as you type).
export function navigate(path, params, replace = false) {
  const q = params ? new URLSearchParams(params).toString() : '';
  const hash = `#${path}${q ? `?${q}` : ''}`;
  if (replace) history.replaceState(null, '', hash);
  else location.hash = hash;
  if (replace) dispatchEvent(new HashChangeEvent('hashchange'));
}

export const runLink = (id) => `#/runs/${encodeURIComponent(id)}`;
