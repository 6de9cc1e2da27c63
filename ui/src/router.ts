// Hash routing: every page has a shareable URL (/#/experiments/3?filter=...),
// browser back/forward work, and the server needs no fallback route.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string;                      // "/experiments/3"
  parts: string[];                   // ["experiments", "3"] (decoded)
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const parts = path.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return { path: '/' + parts.map(encodeURIComponent).join('/'), parts, query };
}

export function currentRoute(): Route {
  return parseHash(window.location.hash);
}

// The href of a page: href(['runs', id], {tab: 'artifacts'}) -> "#/runs/<id>?tab=artifacts".
export function href(parts: (string | number)[], query?: Record<string, string | undefined | null>): string {
  const path = '/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
  const s = qs.toString();
  return '#' + path + (s ? '?' + s : '');
}

// Go to a page. replace=true changes the URL without a new history entry
// (for state kept in the URL as the user types, e.g. a filter box).
export function navigate(to: string, replace = false) {
  if (replace) {
    history.replaceState(null, '', to);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = to.replace(/^#/, '');
  }
}

// Updates some query parameters of the current page, keeping the others.
export function setQuery(updates: Record<string, string | undefined | null>, replace = true) {
  const r = currentRoute();
  const q: Record<string, string> = {};
  r.query.forEach((v, k) => { q[k] = v; });
  for (const [k, v] of Object.entries(updates)) {
    if (v === undefined || v === null || v === '') delete q[k]; else q[k] = v;
  }
  navigate(href(r.parts, q), replace);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    window.addEventListener('hashchange', on);
    window.addEventListener('popstate', on);
    return () => { window.removeEventListener('hashchange', on); window.removeEventListener('popstate', on); };
  }, []);
  return route;
}
