// Compare 2-50 runs (#/compare?runs=a,b,c): a params/metrics/tags diff table,
// overlaid metric charts, parallel coordinates and a param-vs-metric scatter.
// Everything the user picks lives in the URL query so a comparison is a
// shareable link: only=1 (only differing rows), charts=k1,k2 (charted
// metrics), pc=p1,p2 (parallel-coordinate params), pcm=metric, sx=param,
// sy=metric. Data: POST /api/v1/runs/get and POST /api/v1/series.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { post, useLoad, V1, ApiError } from '../api';
import { href, setQuery, type Route } from '../router';
import { ErrorBox, Loading, PageHeader, formatTime, formatValue } from '../components/common';
import { LineChart, fromApiSeries, seriesColor, type ApiSeries } from '../components/chart';
import { ParallelCoords, Scatter, type PlotLine } from '../components/parallel_coords';

interface KV { key: string; value: string }
interface Metric { key: string; value: number | string | null; step?: number; timestamp?: number }
interface Run {
  info: { run_id: string; run_name?: string; experiment_id: string; status: string; start_time?: number; end_time?: number };
  data: { metrics?: Metric[]; params?: KV[]; tags?: KV[] };
}

export const MIN_RUNS = 2;
export const MAX_RUNS = 50;
const MAX_CHARTS = 24;
const DEFAULT_CHARTS = 6;
const DEFAULT_PC_PARAMS = 6;

const csv = (s: string | null) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
const runLabel = (r: Run) => r.info.run_name || r.info.run_id.slice(0, 8);

// The metric value as shown and compared: MLflow sends NaN/Infinity as strings.
function metricValue(m: Metric | undefined): number | string | null {
  if (!m) return null;
  return typeof m.value === 'number' ? m.value : m.value === null ? null : String(m.value);
}
const shown = (v: number | string | null | undefined) => (v === null || v === undefined ? '' : typeof v === 'number' ? formatValue(v) : v);

interface Row { key: string; values: (string | number | null)[]; differs: boolean }
function rowsOf(runs: Run[], pick: (r: Run) => Map<string, string | number | null>): Row[] {
  const maps = runs.map(pick);
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();
  return keys.map((key) => {
    const values = maps.map((m) => (m.has(key) ? m.get(key)! : null));
    const first = JSON.stringify(values[0]);
    return { key, values, differs: values.some((v) => JSON.stringify(v) !== first) };
  });
}

function DiffSection({ title, rows, runs, only, testid }: { title: string; rows: Row[]; runs: Run[]; only: boolean; testid: string }) {
  const visible = only ? rows.filter((r) => r.differs) : rows;
  const ndiff = rows.filter((r) => r.differs).length;
  return (
    <>
      <tr class="diff-section"><th colSpan={runs.length + 1}>{title} <span class="muted">({rows.length} key{rows.length === 1 ? '' : 's'}, {ndiff} differ{ndiff === 1 ? 's' : ''})</span></th></tr>
      {visible.length === 0 && <tr><td class="muted" colSpan={runs.length + 1}>{rows.length === 0 ? 'None.' : 'No differences.'}</td></tr>}
      {visible.map((r) => (
        <tr key={title + r.key} class={r.differs ? 'differs' : ''} data-testid={testid} data-key={r.key} data-differs={r.differs ? 'true' : 'false'}>
          <th class="row-key" title={r.key}>{r.key}</th>
          {r.values.map((v, i) => <td key={i} class={v === null ? 'missing' : ''} title={v === null ? 'not logged' : String(v)}>{v === null ? '—' : shown(v)}</td>)}
        </tr>
      ))}
    </>
  );
}

function DiffTable({ runs, only, colors }: { runs: Run[]; only: boolean; colors: string[] }) {
  const params = useMemo(() => rowsOf(runs, (r) => new Map((r.data.params ?? []).map((p) => [p.key, p.value]))), [runs]);
  const metrics = useMemo(() => rowsOf(runs, (r) => new Map((r.data.metrics ?? []).map((m) => [m.key, metricValue(m)]))), [runs]);
  const tags = useMemo(() => rowsOf(runs, (r) => new Map((r.data.tags ?? []).filter((t) => !t.key.startsWith('mlflow.')).map((t) => [t.key, t.value]))), [runs]);
  return (
    <div class="diff-scroll">
      <table class="data diff-table" data-testid="diff-table">
        <thead>
          <tr>
            <th>Key</th>
            {runs.map((r, i) => (
              <th key={r.info.run_id} data-testid="diff-run-header">
                <span class="swatch" style={{ background: colors[i] }} />
                <a href={href(['runs', r.info.run_id])} title={r.info.run_id}>{runLabel(r)}</a>
                <button type="button" class="remove-run" title="Remove from the comparison" aria-label={`Remove ${runLabel(r)}`} data-testid="remove-run"
                  onClick={() => setQuery({ runs: runs.filter((x) => x !== r).map((x) => x.info.run_id).join(',') })}>×</button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr class="diff-section"><th colSpan={runs.length + 1}>Attributes</th></tr>
          <tr><th class="row-key">Status</th>{runs.map((r) => <td key={r.info.run_id}>{r.info.status}</td>)}</tr>
          <tr><th class="row-key">Started</th>{runs.map((r) => <td key={r.info.run_id}>{formatTime(r.info.start_time)}</td>)}</tr>
          <tr><th class="row-key">Experiment</th>{runs.map((r) => <td key={r.info.run_id}><a href={href(['experiments', r.info.experiment_id])}>{r.info.experiment_id}</a></td>)}</tr>
          <DiffSection title="Parameters" rows={params} runs={runs} only={only} testid="param-row" />
          <DiffSection title="Metrics (latest)" rows={metrics} runs={runs} only={only} testid="metric-row" />
          <DiffSection title="Tags" rows={tags} runs={runs} only={only} testid="tag-row" />
        </tbody>
      </table>
    </div>
  );
}

function Charts({ runs, keys, colors }: { runs: Run[]; keys: string[]; colors: string[] }) {
  const ids = runs.map((r) => r.info.run_id);
  const load = useLoad(async () => {
    if (keys.length === 0) return { series: [] as ApiSeries[] };
    return post<{ series: ApiSeries[] }>(V1 + '/series', { run_ids: ids, keys, max_points: 1000 });
  }, [ids.join(','), keys.join(',')]);
  if (keys.length === 0) return <p class="muted">No metrics chosen.</p>;
  if (load.error) return <ErrorBox error={load.error} onRetry={load.reload} />;
  if (!load.data) return <Loading what="metric series" />;
  const byKey = new Map<string, ApiSeries[]>();
  for (const s of load.data.series) { const k = s.key ?? ''; byKey.set(k, [...(byKey.get(k) ?? []), s]); }
  return (
    <div class="grid2 compare-charts">
      {keys.map((k) => {
        const list = (byKey.get(k) ?? []).filter((s) => s.steps.length > 0);
        return (
          <div class="card" key={k} data-testid="compare-chart" data-key={k}>
            {list.length === 0 ? <><h3>{k}</h3><p class="muted">No run logged {k}.</p></> : (
              <LineChart title={k} height={220} series={list.map((s) => {
                const i = ids.indexOf(s.run_id ?? '');
                return fromApiSeries(s, i >= 0 ? runLabel(runs[i]) : s.run_id, colors[i >= 0 ? i : 0]);
              })} />
            )}
            {list.some((s) => s.downsampled) && <p class="muted small">Downsampled to 1,000 points (LTTB).</p>}
          </div>
        );
      })}
    </div>
  );
}

// A compact multi-select: a filter box and checkboxes (the first 200 matches).
function KeyPicker({ label, all, chosen, onChange, max, testid }: { label: string; all: string[]; chosen: string[]; onChange: (keys: string[]) => void; max: number; testid: string }) {
  const [filter, setFilter] = useState('');
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  // Close on a click elsewhere or Escape.
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => { if (box.current && !box.current.contains(e.target as Node)) setOpen(false); };
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') setOpen(false); };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => { document.removeEventListener('mousedown', onDown); document.removeEventListener('keydown', onKey); };
  }, [open]);
  const matches = all.filter((k) => k.toLowerCase().includes(filter.toLowerCase())).slice(0, 200);
  return (
    <div class="key-picker" data-testid={testid} ref={box}>
      <button type="button" onClick={() => setOpen(!open)} aria-expanded={open} data-testid={testid + '-toggle'}>{label} ({chosen.length}/{all.length}) ▾</button>
      {open && (
        <div class="key-picker-menu">
          <input type="search" placeholder="Filter keys" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
          {chosen.length >= max && <div class="muted small">At most {max}.</div>}
          {matches.map((k) => {
            const on = chosen.includes(k);
            return (
              <label key={k} class="key-option">
                <input type="checkbox" checked={on} disabled={!on && chosen.length >= max} data-key={k}
                  onChange={() => onChange(on ? chosen.filter((x) => x !== k) : [...chosen, k])} /> {k}
              </label>
            );
          })}
        </div>
      )}
    </div>
  );
}

export function ComparePage({ route }: { route: Route }) {
  const ids = [...new Set(csv(route.query.get('runs')))];
  const only = route.query.get('only') === '1';
  const bad = ids.length < MIN_RUNS ? `Choose at least ${MIN_RUNS} runs to compare (the URL names ${ids.length}).`
    : ids.length > MAX_RUNS ? `At most ${MAX_RUNS} runs can be compared; the URL names ${ids.length}.` : null;
  const load = useLoad(async () => (bad ? { runs: [] as Run[] } : post<{ runs: Run[] }>(V1 + '/runs/get', { run_ids: ids })), [ids.join(',')]);
  const title = `Compare ${ids.length} runs`;
  const crumbs = [{ label: 'Experiments', href: '#/experiments' }];
  if (bad) return <><PageHeader title={title} crumbs={crumbs} /><ErrorBox error={bad} /></>;
  if (load.error && !load.data) {
    return <><PageHeader title={title} crumbs={crumbs} /><ErrorBox error={load.error instanceof ApiError ? load.error : String(load.error)} onRetry={load.reload} /></>;
  }
  if (!load.data) return <><PageHeader title={title} crumbs={crumbs} /><Loading what="runs" /></>;
  return <CompareBody route={route} runs={load.data.runs} only={only} title={title} crumbs={crumbs} />;
}

function CompareBody({ route, runs, only, title, crumbs }: { route: Route; runs: Run[]; only: boolean; title: string; crumbs: { label: string; href: string }[] }) {
  const colors = runs.map((_, i) => seriesColor(i));
  const exps = [...new Set(runs.map((r) => r.info.experiment_id))];
  const metricKeys = useMemo(() => [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort(), [runs]);
  const paramKeys = useMemo(() => [...new Set(runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort(), [runs]);
  const paramOf = (r: Run, k: string) => (r.data.params ?? []).find((p) => p.key === k)?.value ?? null;
  const metricOf = (r: Run, k: string) => metricValue((r.data.metrics ?? []).find((m) => m.key === k));
  const differingParams = paramKeys.filter((k) => new Set(runs.map((r) => paramOf(r, k))).size > 1);

  const q = route.query;
  const charts = q.has('charts') ? csv(q.get('charts')).filter((k) => metricKeys.includes(k)) : metricKeys.slice(0, DEFAULT_CHARTS);
  const pcParams = q.has('pc') ? csv(q.get('pc')).filter((k) => paramKeys.includes(k))
    : (differingParams.length ? differingParams : paramKeys).slice(0, DEFAULT_PC_PARAMS);
  const pcMetric = metricKeys.includes(q.get('pcm') ?? '') ? q.get('pcm')! : metricKeys[0];
  const sx = paramKeys.includes(q.get('sx') ?? '') ? q.get('sx')! : (pcParams[0] ?? paramKeys[0]);
  const sy = metricKeys.includes(q.get('sy') ?? '') ? q.get('sy')! : pcMetric;

  const lines: PlotLine[] = runs.map((r, i) => ({ id: r.info.run_id, label: runLabel(r), color: colors[i] }));
  const pcAxes = [
    ...pcParams.map((k) => ({ key: 'params.' + k, label: k, values: runs.map((r) => paramOf(r, k)) })),
    ...(pcMetric ? [{ key: 'metrics.' + pcMetric, label: pcMetric, values: runs.map((r) => metricOf(r, pcMetric)) }] : []),
  ];
  return (
    <div class="compare-page">
      <PageHeader title={title} crumbs={exps.length === 1 ? [...crumbs, { label: `Experiment ${exps[0]}`, href: href(['experiments', exps[0]]) }] : crumbs} />
      <section class="section">
        <div class="toolbar">
          <h2>Parameters and metrics</h2>
          <label class="toggle"><input type="checkbox" checked={only} data-testid="only-differences"
            onChange={(e) => setQuery({ only: (e.target as HTMLInputElement).checked ? '1' : null })} /> Only differences</label>
        </div>
        <DiffTable runs={runs} only={only} colors={colors} />
      </section>
      <section class="section">
        <div class="toolbar">
          <h2>Metric charts</h2>
          <KeyPicker label="Metrics" all={metricKeys} chosen={charts} max={MAX_CHARTS} testid="chart-picker"
            onChange={(keys) => setQuery({ charts: keys.join(',') || ',' })} />
        </div>
        <Charts runs={runs} keys={charts} colors={colors} />
      </section>
      <section class="section">
        <div class="toolbar">
          <h2>Parallel coordinates</h2>
          <KeyPicker label="Parameters" all={paramKeys} chosen={pcParams} max={20} testid="pc-picker"
            onChange={(keys) => setQuery({ pc: keys.join(',') || ',' })} />
          <label>Metric <select value={pcMetric ?? ''} data-testid="pc-metric" onChange={(e) => setQuery({ pcm: (e.target as HTMLSelectElement).value })}>
            {metricKeys.map((k) => <option key={k} value={k}>{k}</option>)}
          </select></label>
        </div>
        <ParallelCoords axes={pcAxes} lines={lines} />
        <div class="pc-legend">{lines.map((l) => <span key={l.id}><span class="swatch" style={{ background: l.color }} />{l.label}</span>)}</div>
      </section>
      <section class="section">
        <div class="toolbar">
          <h2>Scatter</h2>
          <label>x (parameter) <select value={sx ?? ''} data-testid="scatter-x" onChange={(e) => setQuery({ sx: (e.target as HTMLSelectElement).value })}>
            {paramKeys.map((k) => <option key={k} value={k}>{k}</option>)}
          </select></label>
          <label>y (metric) <select value={sy ?? ''} data-testid="scatter-y" onChange={(e) => setQuery({ sy: (e.target as HTMLSelectElement).value })}>
            {metricKeys.map((k) => <option key={k} value={k}>{k}</option>)}
          </select></label>
        </div>
        {sx && sy ? (
          <Scatter x={{ key: sx, label: sx, values: runs.map((r) => paramOf(r, sx)) }} y={{ key: sy, label: sy, values: runs.map((r) => metricOf(r, sy)) }} points={lines} />
        ) : <p class="muted">The runs need a parameter and a metric for a scatter plot.</p>}
      </section>
    </div>
  );
}
