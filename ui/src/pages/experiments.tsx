// #/experiments?q=&view=active|deleted|all: the experiments list (MLflow
// experiments/search, paged by page token), search by name, create, rename,
// delete and restore. Names are user text and are rendered as text.
import { useEffect, useRef, useState } from 'preact/hooks';
import { post, MLFLOW, ApiError, useLoad } from '../api';
import { href, setQuery, type Route } from '../router';
import { ErrorBox, Loading, PageHeader, formatTime } from '../components/common';
import { quoteString } from '../components/search_syntax';

interface Experiment {
  experiment_id: string; name: string; lifecycle_stage: string;
  creation_time?: number; last_update_time?: number; artifact_location?: string;
  tags?: { key: string; value: string }[];
}
interface SearchResult { experiments?: Experiment[]; next_page_token?: string; }

type View = 'active' | 'deleted' | 'all';
const VIEW_TYPE: Record<View, string> = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' };
const PAGE_SIZE = 50;

function toError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, 'ERROR', String(e));
}

export function ExperimentsPage({ route }: { route: Route }) {
  const q = route.query.get('q') ?? '';
  const viewParam = route.query.get('view');
  const view: View = viewParam === 'deleted' || viewParam === 'all' ? viewParam : 'active';
  const [tokens, setTokens] = useState<string[]>(['']);   // page tokens seen, for Previous
  const [text, setText] = useState(q);
  useEffect(() => { setTokens(['']); }, [q, view]);
  useEffect(() => { setText(q); }, [q]);
  const token = tokens[tokens.length - 1];
  const load = useLoad<SearchResult>(() => post(`${MLFLOW}/experiments/search`, {
    max_results: PAGE_SIZE,
    view_type: VIEW_TYPE[view],
    filter: q ? `name ILIKE ${quoteString('%' + q + '%')}` : undefined,
    page_token: token || undefined,
    order_by: ['name ASC'],
  }), [q, view, token]);

  // Search as the user types, after a short pause; the URL keeps it.
  const timer = useRef<number | undefined>(undefined);
  const onSearch = (v: string) => {
    setText(v);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setQuery({ q: v.trim() }), 250);
  };
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const [creating, setCreating] = useState(false);
  const exps = load.data?.experiments ?? [];
  return (
    <div class="experiments-page">
      <PageHeader title="Experiments">
        <button type="button" class="primary" data-testid="create-experiment" onClick={() => setCreating(true)}>New experiment</button>
      </PageHeader>
      {creating && <CreateForm onDone={(id) => { setCreating(false); if (id) { setTokens(['']); load.reload(); } }} />}
      <div class="toolbar">
        <input type="search" placeholder="Search by name" aria-label="Search experiments by name" data-testid="experiment-search"
          value={text} onInput={(e) => onSearch((e.target as HTMLInputElement).value)} style={{ minWidth: '280px' }} />
        <span class="segmented" role="group" aria-label="Which experiments">
          {(['active', 'deleted', 'all'] as View[]).map((v) => (
            <button type="button" class={view === v ? 'active' : ''} aria-pressed={view === v} data-testid={'view-' + v}
              onClick={() => setQuery({ view: v === 'active' ? undefined : v })}>{v[0].toUpperCase() + v.slice(1)}</button>
          ))}
        </span>
      </div>
      {load.error && <ErrorBox error={load.error} onRetry={load.reload} />}
      {load.data === undefined && !load.error && <Loading what="experiments" />}
      {load.data !== undefined && (
        exps.length === 0 ? (
          <p class="muted" data-testid="no-experiments">
            {q ? <>No {view === 'all' ? '' : view} experiment matches “{q}”.</> : view === 'deleted' ? 'No deleted experiments.' : 'No experiments yet.'}
          </p>
        ) : (
          <table class="data experiments-table" data-testid="experiments-table">
            <thead><tr><th>Name</th><th>ID</th><th>Created</th><th>Last update</th>{view !== 'active' && <th>State</th>}<th></th></tr></thead>
            <tbody>{exps.map((e) => <ExperimentRow key={e.experiment_id} exp={e} showState={view !== 'active'} onChanged={load.reload} />)}</tbody>
          </table>
        )
      )}
      <div class="toolbar pager">
        <button type="button" data-testid="prev-page" disabled={tokens.length <= 1} onClick={() => setTokens((t) => t.slice(0, -1))}>Previous</button>
        <span class="muted" data-testid="page-number">Page {tokens.length}</span>
        <button type="button" data-testid="next-page" disabled={!load.data?.next_page_token}
          onClick={() => { const t = load.data?.next_page_token; if (t) setTokens((s) => [...s, t]); }}>Next</button>
      </div>
    </div>
  );
}

function CreateForm({ onDone }: { onDone: (id?: string) => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => { input.current?.focus(); }, []);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true); setError(undefined);
    try {
      const r = await post<{ experiment_id: string }>(`${MLFLOW}/experiments/create`, { name });
      onDone(r.experiment_id);
    } catch (e) { setError(toError(e)); } finally { setBusy(false); }
  };
  return (
    <form class="card inline-form" data-testid="create-form" onSubmit={submit}>
      <label>Name <input ref={input} data-testid="create-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => { if (e.key === 'Escape') onDone(); }} /></label>
      <button type="submit" class="primary" data-testid="create-submit" disabled={busy}>Create</button>
      <button type="button" onClick={() => onDone()}>Cancel</button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

function ExperimentRow({ exp, showState, onChanged }: { exp: Experiment; showState: boolean; onChanged: () => void }) {
  const [mode, setMode] = useState<'view' | 'rename' | 'confirm-delete'>('view');
  const [name, setName] = useState(exp.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const deleted = exp.lifecycle_stage === 'deleted';
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true); setError(undefined);
    try { await fn(); setMode('view'); onChanged(); } catch (e) { setError(toError(e)); } finally { setBusy(false); }
  };
  const rename = (ev: Event) => {
    ev.preventDefault();
    void act(() => post(`${MLFLOW}/experiments/update`, { experiment_id: exp.experiment_id, new_name: name }));
  };
  return (
    <tr data-testid="experiment-row" data-id={exp.experiment_id} class={deleted ? 'deleted' : ''}>
      <td class="exp-name">
        {mode === 'rename' ? (
          <form class="inline-form" onSubmit={rename}>
            <input data-testid="rename-input" aria-label="New name" value={name} autoFocus
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
              onKeyDown={(e) => { if (e.key === 'Escape') { setMode('view'); setName(exp.name); setError(undefined); } }} />
            <button type="submit" class="primary" data-testid="rename-save" disabled={busy}>Save</button>
            <button type="button" onClick={() => { setMode('view'); setName(exp.name); setError(undefined); }}>Cancel</button>
          </form>
        ) : deleted ? (
          <span data-testid="experiment-name">{exp.name}</span>
        ) : (
          <a href={href(['experiments', exp.experiment_id])} data-testid="experiment-name">{exp.name}</a>
        )}
        {error && <ErrorBox error={error} />}
      </td>
      <td class="muted">{exp.experiment_id}</td>
      <td>{formatTime(exp.creation_time)}</td>
      <td>{formatTime(exp.last_update_time)}</td>
      {showState && <td><span class={'badge' + (deleted ? ' warn' : '')} data-testid="experiment-state">{exp.lifecycle_stage}</span></td>}
      <td class="row-actions">
        {deleted ? (
          <button type="button" data-testid="restore" disabled={busy}
            onClick={() => act(() => post(`${MLFLOW}/experiments/restore`, { experiment_id: exp.experiment_id }))}>Restore</button>
        ) : mode === 'confirm-delete' ? (
          <>
            <span>Delete “{exp.name}”?</span>
            <button type="button" class="danger" data-testid="delete-confirm" disabled={busy}
              onClick={() => act(() => post(`${MLFLOW}/experiments/delete`, { experiment_id: exp.experiment_id }))}>Delete</button>
            <button type="button" onClick={() => setMode('view')}>Keep</button>
          </>
        ) : mode === 'view' ? (
          <>
            <button type="button" data-testid="rename" onClick={() => { setName(exp.name); setMode('rename'); }}>Rename</button>
            <button type="button" class="danger" data-testid="delete" onClick={() => setMode('confirm-delete')}>Delete</button>
          </>
        ) : null}
      </td>
    </tr>
  );
}
