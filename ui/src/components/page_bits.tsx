// Small pieces shared by the models, pipelines, monitoring and compare pages:
// a not-found notice, a token pager, a key/value table, a status badge.
// Everything user-provided is rendered as text.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ApiError } from '../api';
import { setQuery, type Route } from '../router';
import { ErrorBox } from './common';

// What a page shows when the thing its URL names does not exist (a 404 from
// the API), with a link back to the list.
export function NotFoundNotice({ what, back }: { what: ComponentChildren; back: { label: string; href: string } }) {
  return (
    <div class="not-found" data-testid="not-found">
      <h1>Not found</h1>
      <p>{what} does not exist. <a href={back.href}>{back.label}</a></p>
    </div>
  );
}

// Shows NotFoundNotice for a 404, else the error box.
export function LoadError({ error, what, back, onRetry }: { error: ApiError; what: ComponentChildren; back: { label: string; href: string }; onRetry?: () => void }) {
  if (error.status === 404) return <NotFoundNotice what={what} back={back} />;
  return <ErrorBox error={error} onRetry={onRetry} />;
}

// Page-token paging: keeps the tokens of the pages seen so "Previous" works.
// `token` is the token of the current page ('' for the first).
export interface TokenPager { token: string; page: number; next: (t: string) => void; prev: () => void; reset: () => void; }
export function useTokenPager(): TokenPager {
  const [stack, setStack] = useState<string[]>(['']);
  return {
    token: stack[stack.length - 1],
    page: stack.length,
    next: (t: string) => setStack((s) => [...s, t]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack(['']),
  };
}

export function PagerBar({ pager, nextToken, testid }: { pager: TokenPager; nextToken?: string; testid?: string }) {
  if (pager.page === 1 && !nextToken) return null;
  return (
    <div class="pager" data-testid={testid ?? 'pager'}>
      <button type="button" disabled={pager.page === 1} onClick={pager.prev} data-testid="pager-prev">Previous</button>
      <span class="muted">Page {pager.page}</span>
      <button type="button" disabled={!nextToken} onClick={() => nextToken && pager.next(nextToken)} data-testid="pager-next">Next</button>
    </div>
  );
}

export function KeyValues({ rows, testid }: { rows: [string, ComponentChildren][]; testid?: string }) {
  return (
    <table class="kv" data-testid={testid}>
      <tbody>
        {rows.map(([k, v]) => (<tr key={k}><th>{k}</th><td>{v}</td></tr>))}
      </tbody>
    </table>
  );
}

// Badge class for a run / step / window / alert status.
export function statusClass(status: string | undefined): string {
  switch ((status ?? '').toUpperCase()) {
    case 'FINISHED': case 'DONE': case 'OK': case 'APPROVED': case 'RESOLVED': case 'READY': case 'APPLIED': return 'ok';
    case 'FAILED': case 'KILLED': case 'ERROR': case 'REJECTED': case 'FIRING': case 'DRIFT': return 'fail';
    case 'RUNNING': case 'PENDING': case 'SCHEDULED': case 'OPEN': return 'warn';
    default: return '';
  }
}

export function StatusBadge({ status, testid }: { status: string | undefined; testid?: string }) {
  return <span class={'badge ' + statusClass(status)} data-testid={testid}>{status || '—'}</span>;
}

// A short run id for tables (the full one is the link's title).
export function shortId(id: string): string { return id.length > 12 ? id.slice(0, 8) + '…' : id; }

// A search box kept in the URL's query `key` (so it is shareable): typing
// writes the URL after `delayMs` of quiet; a URL change (back/forward, a
// link) updates the box and calls onUrlChange (e.g. to reset paging).
// Returns [text in the box, its setter, the value in the URL].
export function useUrlSearchText(route: Route, key: string, delayMs: number,
  onUrlChange?: () => void): [string, (s: string) => void, string] {
  const value = route.query.get(key) ?? '';
  const [text, setText] = useState(value);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => setQuery({ [key]: text }), delayMs);
    return () => clearTimeout(t);
  }, [text]);
  useEffect(() => { onUrlChange?.(); setText(value); }, [value]);
  return [text, setText, value];
}
