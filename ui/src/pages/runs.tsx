// #/experiments/{id}?filter=&order=&cols=: the runs table of an experiment.
// Virtual-scrolled and paged by offset from /api/v1/experiments/{id}/runs
// (only the chosen columns are asked for; count=true gives the total); the
// columns to choose from come from /api/v1/experiments/{id}/columns. Chosen
// columns are kept in the URL (cols=) and in localStorage per experiment.
// A filter the server rejects (400) is shown under the box and the table
// keeps its rows. Selected runs go to #/compare?runs=a,b,c.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, MLFLOW, V1, ApiError, useLoad } from '../api';
import { href, navigate, setQuery, type Route } from '../router';
import { ErrorBox, Loading, PageHeader, formatDuration, formatTime, formatValue } from '../components/common';
import { VirtualTable, type VColumn, type LoadedPage } from '../components/virtual_table';
import { columnId, orderByClause, parseColumnId, type ColumnId, type ColumnKind } from '../components/search_syntax';

interface KV { key: string; value: string }
interface ApiRun {
  info: { run_id: string; run_name?: string; status: string; start_time?: number; end_time?: number; user_id?: string; lifecycle_stage?: string };
  data?: { params?: KV[]; metrics?: { key: string; value: number | null }[]; tags?: KV[] };
}
interface RunRow {
  id: string; name: string; status: string; start?: number; end?: number; user: string;
  params: Map<string, string>; metrics: Map<string, number | null>; tags: Map<string, string>;
}
interface Columns { attributes?: string[]; params?: string[]; metrics?: string[]; tags?: string[]; }

const PAGE = 200;
const MAX_COMPARE = 50;

function toRow(r: ApiRun): RunRow {
  const d = r.data ?? {};
  return {
    id: r.info.run_id,
    name: r.info.run_name ?? d.tags?.find((t) => t.key === 'mlflow.runName')?.value ?? '',
    status: r.info.status,
    start: r.info.start_time,
    end: r.info.end_time,
    user: r.info.user_id ?? '',
    params: new Map((d.params ?? []).map((p) => [p.key, p.value])),
    metrics: new Map((d.metrics ?? []).map((m) => [m.key, m.value])),
    tags: new Map((d.tags ?? []).map((t) => [t.key, t.value])),
  };
}

// Columns in the URL: ids joined by ',' with each id URI-encoded (keys may hold commas).
export function encodeCols(cols: ColumnId[]): string { return cols.map((c) => encodeURIComponent(columnId(c))).join(','); }
export function decodeCols(s: string | null): ColumnId[] | null {
  if (s === null) return null;
  const out: ColumnId[] = [];
  for (const part of s.split(',')) {
    if (!part) continue;
    let id = part;
    try { id = decodeURIComponent(part); } catch { /* keep as is */ }
    const c = parseColumnId(id);
    if (c && c.kind !== 'attributes' && !out.some((o) => o.kind === c.kind && o.key === c.key)) out.push(c);
  }
  return out;
}
const storageKey = (exp: string) => `cairn.runs.cols.${exp}`;

// The sort in the URL: "<column id> ASC|DESC", e.g. "metrics.my loss DESC".
function parseOrder(s: string | null): { col: ColumnId; desc: boolean } | null {
  if (!s) return null;
  const m = /^(.*) (ASC|DESC)$/i.exec(s.trim());
  const col = parseColumnId(m ? m[1] : s.trim());
  if (!col) return null;
  return { col, desc: m ? m[2].toUpperCase() === 'DESC' : false };
}

const ATTRS: { key: string; label: string; width: number; sortKey?: string; render: (r: RunRow) => ComponentChildren }[] = [
  { key: 'run_name', label: 'Run name', width: 240, sortKey: 'run_name',
    render: (r) => <a href={href(['runs', r.id])} data-testid="run-link" title={r.name}>{r.name || r.id.slice(0, 12)}</a> },
  { key: 'status', label: 'Status', width: 100, sortKey: 'status', render: (r) => <StatusBadge status={r.status} /> },
  { key: 'start_time', label: 'Start time', width: 160, sortKey: 'start_time', render: (r) => formatTime(r.start) },
  { key: 'duration', label: 'Duration', width: 100,
    render: (r) => (r.start && r.end && r.end >= r.start ? formatDuration(r.end - r.start) : r.status === 'RUNNING' ? <span class="muted">running</span> : '') },
  { key: 'user_id', label: 'User', width: 120, sortKey: 'user_id', render: (r) => r.user },
];

export function StatusBadge({ status }: { status: string }) {
  const cls = status === 'FINISHED' ? 'ok' : status === 'FAILED' || status === 'KILLED' ? 'fail' : status === 'RUNNING' ? 'warn' : '';
  return <span class={'badge ' + cls} data-testid="run-status">{status}</span>;
}

export function RunsPage({ route, experimentId }: { route: Route; experimentId: string }) {
  const exp = useLoad(() => get<{ experiment: { name: string; lifecycle_stage: string } }>(`${MLFLOW}/experiments/get`, { experiment_id: experimentId }), [experimentId]);
  const columns = useLoad(() => get<Columns>(`${V1}/experiments/${encodeURIComponent(experimentId)}/columns`), [experimentId]);
  if (exp.error?.status === 404 || columns.error?.status === 404) {
    return (
      <div class="not-found" data-testid="not-found">
        <h1>Experiment not found</h1>
        <p>There is no experiment with id <code>{experimentId}</code>. <a href="#/experiments">Go to experiments</a>.</p>
      </div>
    );
  }
  const name = exp.data?.experiment.name;
  return (
    <div class="runs-page">
      <PageHeader title={name ?? experimentId} crumbs={[{ label: 'Experiments', href: '#/experiments' }]}>
        {exp.data?.experiment.lifecycle_stage === 'deleted' && <span class="badge warn">deleted</span>}
      </PageHeader>
      {exp.error && <ErrorBox error={exp.error} onRetry={exp.reload} />}
      {columns.error && <ErrorBox error={columns.error} onRetry={columns.reload} />}
      {/* The table needs the key list only to pick default columns: with
          columns from the URL or remembered, it does not wait for it. */}
      {columns.data === undefined && chosenCols(route, experimentId) === null
        ? (!columns.error && <Loading what="columns" />)
        : <RunsTable route={route} experimentId={experimentId} available={columns.data} />}
    </div>
  );
}

function defaultCols(avail: Columns): ColumnId[] {
  return [
    ...(avail.metrics ?? []).slice(0, 5).map((key) => ({ kind: 'metrics' as const, key })),
    ...(avail.params ?? []).slice(0, 5).map((key) => ({ kind: 'params' as const, key })),
  ];
}

// The columns the URL names, else the ones remembered for the experiment, else null.
function chosenCols(route: Route, experimentId: string): ColumnId[] | null {
  const urlCols = decodeCols(route.query.get('cols'));
  if (urlCols !== null) return urlCols;
  try { return decodeCols(localStorage.getItem(storageKey(experimentId))); } catch { return null; }
}

function RunsTable({ route, experimentId, available }: { route: Route; experimentId: string; available?: Columns }) {
  const filter = route.query.get('filter') ?? '';
  const order = parseOrder(route.query.get('order'));
  // Read on each render (cheap): the URL may drop cols= without a remount.
  const cols: ColumnId[] = (chosenCols(route, experimentId) ?? defaultCols(available ?? {})).slice(0, MAX_COLUMNS);
  const colsKey = encodeCols(cols);

  const setCols = (next: ColumnId[]) => {
    const enc = encodeCols(next);
    try { localStorage.setItem(storageKey(experimentId), enc); } catch { /* storage full or off */ }
    setQuery({ cols: enc || ',' });
  };

  const [filterText, setFilterText] = useState(filter);
  useEffect(() => { setFilterText(filter); }, [filter]);
  const [filterError, setFilterError] = useState<ApiError | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [selected, setSelected] = useState<Map<string, RunRow>>(new Map());
  const [picker, setPicker] = useState(false);

  const orderBy = order ? [orderByClause(order.col, order.desc)] : undefined;
  const orderKey = orderBy?.join('|') ?? '';
  const loader = useCallback(async (offset: number, limit: number): Promise<LoadedPage<RunRow>> => {
    const res = await get<{ runs?: ApiRun[]; total?: number }>(`${V1}/experiments/${encodeURIComponent(experimentId)}/runs`, {
      column: cols.map(columnId), offset, max_results: limit, count: true, filter: filter || undefined, order_by: orderBy,
    });
    const rows = (res.runs ?? []).map(toRow);
    return { rows, total: typeof res.total === 'number' ? res.total : offset + rows.length };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [experimentId, filter, orderKey, colsKey]);

  const lastFilter = useRef(filter);
  const onError = useCallback((e: unknown) => {
    const err = e instanceof ApiError ? e : new ApiError(0, 'ERROR', String(e));
    if (err.status === 400) setFilterError(err); else setLoadError(err);
  }, []);
  const onLoaded = useCallback((n: number) => { setTotal(n); setFilterError(null); setLoadError(null); lastFilter.current = filter; }, [filter]);

  const onSort = (id: string) => {
    const col = parseColumnId(id);
    if (!col) return;
    const same = order && columnId(order.col) === id;
    // First click: descending for metrics and times (best/newest first), ascending for text.
    const firstDesc = col.kind === 'metrics' || col.key === 'start_time';
    const desc = same ? !order!.desc : firstDesc;
    setQuery({ order: `${id} ${desc ? 'DESC' : 'ASC'}` });
  };

  const vcols: VColumn<RunRow>[] = useMemo(() => [
    ...ATTRS.map((a) => ({
      id: 'attributes.' + (a.sortKey ?? a.key), header: a.label, width: a.width, sortable: !!a.sortKey, sticky: a.key === 'run_name',
      render: (r: RunRow) => a.render(r),
    })),
    ...cols.map((c) => ({
      id: columnId(c),
      header: <><span class={'vt-kind kind-' + c.kind}>{c.kind === 'metrics' ? 'metric' : c.kind === 'params' ? 'param' : 'tag'}</span>{c.key}</>,
      title: columnId(c),
      width: 140,
      align: c.kind === 'metrics' ? 'right' as const : 'left' as const,
      render: (r: RunRow) => {
        if (c.kind === 'metrics') { const v = r.metrics.get(c.key); return v === undefined ? '' : v === null ? 'NaN' : formatValue(v); }
        const v = c.kind === 'params' ? r.params.get(c.key) : r.tags.get(c.key);
        return v === undefined ? '' : <span title={v}>{v}</span>;
      },
    })),
  ], [colsKey]);

  const toggle = (key: string, row: RunRow) => {
    setSelected((s) => { const n = new Map(s); if (n.has(key)) n.delete(key); else n.set(key, row); return n; });
  };
  const selectedIds = Array.from(selected.keys());
  const canCompare = selectedIds.length >= 2 && selectedIds.length <= MAX_COMPARE;

  const applyFilter = (e?: Event) => { e?.preventDefault(); setQuery({ filter: filterText.trim() }); };

  return (
    <div class="runs-table">
      <form class="toolbar filter-bar" onSubmit={applyFilter}>
        <input type="search" class="filter-input" data-testid="filter-input" aria-label="Filter runs"
          placeholder={"Filter: metrics.loss < 0.5 and params.lr = '0.01' and tags.team = 'vision'"}
          value={filterText} onInput={(e) => setFilterText((e.target as HTMLInputElement).value)} />
        <button type="submit" data-testid="filter-apply">Apply</button>
        {filter && <button type="button" data-testid="filter-clear" onClick={() => { setFilterText(''); setQuery({ filter: undefined }); }}>Clear</button>}
      </form>
      {filterError && (
        <div class="filter-error" role="alert" data-testid="filter-error">
          <strong>{filterError.code}:</strong> {filterError.message}
          {lastFilter.current !== filter && <span class="muted"> (showing the runs of the previous filter)</span>}
          <FilterPosition filter={filter} message={filterError.message} />
        </div>
      )}
      {loadError && <ErrorBox error={loadError} />}
      <div class="toolbar">
        <span data-testid="run-count" class="run-count">{total === null ? 'Loading runs…' : `${total.toLocaleString('en-US')} run${total === 1 ? '' : 's'}`}</span>
        {order && (
          <span class="muted sort-note" data-testid="sort-note">
            sorted by <code>{columnId(order.col)}</code> {order.desc ? 'descending' : 'ascending'}
            {' '}<button type="button" class="link-button" data-testid="sort-reset" onClick={() => setQuery({ order: undefined })}>newest first</button>
          </span>
        )}
        <span class="spacer" />
        <div class="picker-anchor">
          <button type="button" data-testid="columns-button" aria-expanded={picker} onClick={() => setPicker(!picker)}>Columns ({cols.length})</button>
          {picker && <ColumnPicker available={available} chosen={cols} onChange={setCols} onClose={() => setPicker(false)} />}
        </div>
        {selectedIds.length > 0 && <button type="button" data-testid="clear-selection" onClick={() => setSelected(new Map())}>Clear selection</button>}
        <button type="button" class="primary" data-testid="compare-button" disabled={!canCompare}
          title={canCompare ? 'Compare the selected runs' : `Select 2 to ${MAX_COMPARE} runs to compare`}
          onClick={() => navigate(href(['compare'], { runs: selectedIds.join(',') }))}>
          Compare{selectedIds.length ? ` (${selectedIds.length})` : ''}
        </button>
      </div>
      <VirtualTable<RunRow>
        testid="runs-table"
        columns={vcols}
        loader={loader}
        rowKey={(r) => r.id}
        sort={order ? { id: columnId(order.col), desc: order.desc } : { id: 'attributes.start_time', desc: true }}
        onSort={onSort}
        selected={new Set(selectedIds)}
        onToggleSelect={toggle}
        onOpen={(r) => navigate(href(['runs', r.id]))}
        onLoaded={onLoaded}
        onError={onError}
        pageSize={PAGE}
        emptyText={filter ? 'No run matches the filter.' : 'No runs in this experiment yet.'}
      />
    </div>
  );
}

// Marks where the server's parser stopped ("... at position N") in the filter.
function FilterPosition({ filter, message }: { filter: string; message: string }) {
  const m = /at position (\d+)/.exec(message);
  if (!m) return null;
  const n = Number(m[1]);
  if (!(n >= 0 && n <= filter.length)) return null;
  return (
    <div class="filter-position" data-testid="filter-position">
      <code>{filter.slice(0, n)}<mark>{filter.slice(n, n + 1) || ' '}</mark>{filter.slice(n + 1)}</code>
    </div>
  );
}

const GROUP_LIMIT = 200;
// Chosen columns are cells in every rendered row: bounded so the table stays fluid.
const MAX_COLUMNS = 100;

function ColumnPicker({ available, chosen, onChange, onClose }: {
  available?: Columns; chosen: ColumnId[]; onChange: (c: ColumnId[]) => void; onClose: () => void;
}) {
  const [search, setSearch] = useState('');
  const box = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => { input.current?.focus(); }, []);
  useEffect(() => {
    const onDoc = (e: MouseEvent) => {
      const t = e.target as Node;
      if (box.current && !box.current.contains(t) && !(t as HTMLElement).closest?.('[data-testid="columns-button"]')) onClose();
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, [onClose]);
  const chosenSet = new Set(chosen.map(columnId));
  const s = search.trim().toLowerCase();
  const [full, setFull] = useState(false);
  const toggle = (c: ColumnId) => {
    const id = columnId(c);
    if (chosenSet.has(id)) { setFull(false); onChange(chosen.filter((x) => columnId(x) !== id)); return; }
    if (chosen.length >= MAX_COLUMNS) { setFull(true); return; }
    onChange([...chosen, c]);
  };
  const groups: { kind: ColumnKind; label: string; keys: string[] }[] = [
    { kind: 'metrics', label: 'Metrics (latest)', keys: available?.metrics ?? [] },
    { kind: 'params', label: 'Params', keys: available?.params ?? [] },
    { kind: 'tags', label: 'Tags', keys: available?.tags ?? [] },
  ];
  return (
    <div class="column-picker card" ref={box} data-testid="column-picker" role="dialog" aria-label="Choose columns"
      onKeyDown={(e) => { if (e.key === 'Escape') onClose(); }}>
      <div class="toolbar">
        <input ref={input} type="search" placeholder="Search keys" aria-label="Search column keys" data-testid="column-search"
          value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        <button type="button" data-testid="columns-none" onClick={() => onChange([])}>None</button>
        <button type="button" onClick={onClose}>Close</button>
      </div>
      {full && <div class="filter-error" role="alert" data-testid="picker-full">At most {MAX_COLUMNS} columns: remove one to add another.</div>}
      {!available && <Loading what="the experiment's keys" />}
      {available && <div class="picker-groups">
        {groups.map((g) => {
          const matches = s ? g.keys.filter((k) => k.toLowerCase().includes(s)) : g.keys;
          const shown = matches.slice(0, GROUP_LIMIT);
          const nChosen = g.keys.filter((k) => chosenSet.has(g.kind + '.' + k)).length;
          return (
            <section class="picker-group" data-testid={'picker-' + g.kind}>
              <h3>{g.label} <span class="muted">{matches.length}{s ? ` of ${g.keys.length}` : ''}{nChosen ? `, ${nChosen} shown` : ''}</span></h3>
              {g.keys.length === 0 && <div class="muted">none</div>}
              <ul>
                {shown.map((k) => {
                  const c = { kind: g.kind, key: k };
                  return (
                    <li><label title={k}><input type="checkbox" data-testid="column-option" data-col={columnId(c)}
                      checked={chosenSet.has(columnId(c))} onChange={() => toggle(c)} /> {k}</label></li>
                  );
                })}
              </ul>
              {matches.length > shown.length && <div class="muted" data-testid="picker-more">{matches.length - shown.length} more: refine the search</div>}
            </section>
          );
        })}
      </div>}
    </div>
  );
}
