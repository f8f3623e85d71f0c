// Loads data and reloads it every `ms` while `live` (and the tab is visible).
// Returns {data, error, reload}; `error` is the API's detail text.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export function usePoll(load, deps, { ms = 2000, live = true } = {}) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const data = await load();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (e) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error: e.message, loading: false }));
    }
  }, deps);
  useEffect(() => {
    setState((s) => ({ ...s, loading: true }));
    reload();
    if (!live) return () => generation.current++;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, ms);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, [reload, live, ms]);
  return { ...state, reload };
}
