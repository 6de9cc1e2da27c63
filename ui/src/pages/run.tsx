// #/runs/{id}?tab=overview|charts|artifacts[&path=]: one run.
// Overview: attributes, params, latest metrics, tags (system mlflow.* tags
// apart), dataset inputs, parent and child runs, model versions made from it.
// Charts: one chart per metric key from the downsampled series (POST
// /api/v1/series, up to 100 keys a request), each with its full-series CSV.
// Artifacts: a lazy tree from MLflow artifacts/list and a preview of text,
// JSON, YAML, CSV and images under 2 MiB, a download link for every file.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, post, MLFLOW, V1, ApiError, useLoad } from '../api';
import { href, setQuery, type Route } from '../router';
import { Async, ErrorBox, Loading, PageHeader, formatBytes, formatDuration, formatTime, formatValue } from '../components/common';
import { LineChart, fromApiSeries, type ApiSeries, type ChartSeries, type XKind } from '../components/chart';
import { parseCsv } from '../components/csv';
import { quoteString } from '../components/search_syntax';
import { StatusBadge } from './runs';

interface KV { key: string; value: string }
interface Metric { key: string; value: number | null; step?: number; timestamp?: number }
interface DatasetInput {
  tags?: KV[];
  dataset: { name: string; digest: string; source_type?: string; source?: string; schema?: string; profile?: string };
}
export interface MlflowRun {
  info: {
    run_id: string; run_name?: string; experiment_id: string; status: string; user_id?: string;
    start_time?: number; end_time?: number; artifact_uri?: string; lifecycle_stage?: string;
  };
  data: { params?: KV[]; metrics?: Metric[]; tags?: KV[] };
  inputs?: { dataset_inputs?: DatasetInput[] };
}

type Tab = 'overview' | 'charts' | 'artifacts';
const PREVIEW_LIMIT = 2 * 1024 * 1024;
const CSV_ROWS = 500;

export function RunPage({ route, runId }: { route: Route; runId: string }) {
  const tabParam = route.query.get('tab');
  const tab: Tab = tabParam === 'charts' || tabParam === 'artifacts' ? tabParam : 'overview';
  const run = useLoad(() => get<{ run: MlflowRun }>(`${MLFLOW}/runs/get`, { run_id: runId }), [runId]);
  const expId = run.data?.run.info.experiment_id;
  const exp = useLoad(() => (expId ? get<{ experiment: { name: string } }>(`${MLFLOW}/experiments/get`, { experiment_id: expId }) : Promise.resolve(undefined)), [expId]);

  if (run.error && (run.error.status === 404 || run.error.code === 'RESOURCE_DOES_NOT_EXIST')) {
    return (
      <div class="not-found" data-testid="not-found">
        <h1>Run not found</h1>
        <p>There is no run with id <code>{runId}</code>. <a href="#/experiments">Go to experiments</a>.</p>
      </div>
    );
  }
  if (run.error && !run.data) return <ErrorBox error={run.error} onRetry={run.reload} />;
  if (!run.data) return <Loading what="run" />;
  const r = run.data.run;
  const name = r.info.run_name || r.data.tags?.find((t) => t.key === 'mlflow.runName')?.value || r.info.run_id;
  const crumbs = [{ label: 'Experiments', href: '#/experiments' },
    { label: exp.data?.experiment.name ?? `experiment ${r.info.experiment_id}`, href: href(['experiments', r.info.experiment_id]) }];
  return (
    <div class="run-page">
      <PageHeader title={<><span data-testid="run-name">{name}</span> <StatusBadge status={r.info.status} /></>} crumbs={crumbs} />
      <nav class="tabs" role="tablist">
        {(['overview', 'charts', 'artifacts'] as Tab[]).map((t) => (
          <button type="button" role="tab" aria-selected={tab === t} class={tab === t ? 'active' : ''} data-testid={'tab-' + t}
            onClick={() => setQuery({ tab: t === 'overview' ? undefined : t, path: undefined }, false)}>
            {t[0].toUpperCase() + t.slice(1)}
          </button>
        ))}
      </nav>
      {tab === 'overview' && <Overview run={r} />}
      {tab === 'charts' && <Charts run={r} focusKey={route.query.get('key') ?? ''} />}
      {tab === 'artifacts' && <Artifacts run={r} path={route.query.get('path') ?? ''} />}
    </div>
  );
}

// ---- overview -------------------------------------------------------------

function KVTable({ rows, testid, empty }: { rows: [string, ComponentChildren][]; testid: string; empty: string }) {
  if (rows.length === 0) return <p class="muted" data-testid={testid + '-empty'}>{empty}</p>;
  return (
    <table class="data kv" data-testid={testid}>
      <tbody>{rows.map(([k, v]) => <tr><th scope="row" title={k}>{k}</th><td>{v}</td></tr>)}</tbody>
    </table>
  );
}

function Overview({ run }: { run: MlflowRun }) {
  const i = run.info;
  const tags = run.data.tags ?? [];
  const tagMap = new Map(tags.map((t) => [t.key, t.value]));
  const userTags = tags.filter((t) => !t.key.startsWith('mlflow.')).sort((a, b) => a.key.localeCompare(b.key));
  const systemTags = tags.filter((t) => t.key.startsWith('mlflow.')).sort((a, b) => a.key.localeCompare(b.key));
  const params = [...(run.data.params ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const metrics = [...(run.data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
  const parent = tagMap.get('mlflow.parentRunId');
  const [paramFilter, setParamFilter] = useState('');
  const pf = paramFilter.trim().toLowerCase();
  const note = tagMap.get('mlflow.note.content');
  return (
    <div class="grid2 run-overview">
      <section class="card" data-testid="run-attributes">
        <h2>Attributes</h2>
        <KVTable testid="attributes" empty="" rows={[
          ['Run ID', <code>{i.run_id}</code>],
          ['Experiment', <a href={href(['experiments', i.experiment_id])}>{i.experiment_id}</a>],
          ['Status', <StatusBadge status={i.status} />],
          ['Start time', formatTime(i.start_time)],
          ['End time', formatTime(i.end_time)],
          ['Duration', i.start_time && i.end_time ? formatDuration(i.end_time - i.start_time) : ''],
          ['User', i.user_id ?? ''],
          ['Source', tagMap.get('mlflow.source.name') ?? ''],
          ['Git commit', tagMap.get('mlflow.source.git.commit') ?? ''],
          ['Lifecycle', i.lifecycle_stage ?? ''],
          ['Artifact URI', <code>{i.artifact_uri ?? ''}</code>],
          ...(parent ? [['Parent run', <ParentLink id={parent} />] as [string, ComponentChildren]] : []),
        ]} />
        {note && <><h3>Description</h3><pre class="note" data-testid="run-note">{note}</pre></>}
      </section>
      <section class="card" data-testid="run-params">
        <h2>Params <span class="muted">{params.length}</span></h2>
        {params.length > 15 && <input type="search" placeholder="Filter params" aria-label="Filter params" value={paramFilter}
          onInput={(e) => setParamFilter((e.target as HTMLInputElement).value)} />}
        <KVTable testid="params" empty="No params." rows={params.filter((p) => !pf || p.key.toLowerCase().includes(pf)).map((p) => [p.key, <span class="value">{p.value}</span>])} />
      </section>
      <section class="card" data-testid="run-metrics">
        <h2>Metrics <span class="muted">{metrics.length}, latest values</span></h2>
        {metrics.length === 0 ? <p class="muted">No metrics.</p> : (
          <table class="data" data-testid="metrics">
            <thead><tr><th>Key</th><th class="num">Value</th><th class="num">Step</th><th>Time</th></tr></thead>
            <tbody>{metrics.map((m) => (
              <tr><th scope="row" title={m.key}><a href={href(['runs', i.run_id], { tab: 'charts', key: m.key })}>{m.key}</a></th>
                <td class="num">{m.value === null ? 'NaN' : formatValue(m.value)}</td><td class="num">{m.step ?? ''}</td><td>{formatTime(m.timestamp)}</td></tr>
            ))}</tbody>
          </table>
        )}
      </section>
      <section class="card" data-testid="run-tags">
        <h2>Tags <span class="muted">{userTags.length}</span></h2>
        <KVTable testid="tags" empty="No tags." rows={userTags.map((t) => [t.key, <span class="value">{t.value}</span>])} />
        {systemTags.length > 0 && (
          <details class="system-tags" data-testid="system-tags">
            <summary>System tags (mlflow.*) <span class="muted">{systemTags.length}</span></summary>
            <KVTable testid="system-tags-table" empty="" rows={systemTags.map((t) => [t.key, <span class="value">{t.value}</span>])} />
          </details>
        )}
      </section>
      <DatasetInputs inputs={run.inputs?.dataset_inputs ?? []} />
      <ChildRuns run={run} />
      <ModelVersions runId={i.run_id} />
    </div>
  );
}

function ParentLink({ id }: { id: string }) {
  const p = useLoad(() => get<{ run: MlflowRun }>(`${MLFLOW}/runs/get`, { run_id: id }), [id]);
  const label = p.data?.run.info.run_name || id;
  return <a href={href(['runs', id])} data-testid="parent-run">{label}</a>;
}

function DatasetInputs({ inputs }: { inputs: DatasetInput[] }) {
  return (
    <section class="card" data-testid="run-datasets">
      <h2>Dataset inputs <span class="muted">{inputs.length}</span></h2>
      {inputs.length === 0 ? <p class="muted">No dataset inputs.</p> : (
        <table class="data">
          <thead><tr><th>Name</th><th>Digest</th><th>Context</th><th>Source</th></tr></thead>
          <tbody>{inputs.map((d) => (
            <tr data-testid="dataset-row">
              <td>{d.dataset.name}</td><td><code>{d.dataset.digest}</code></td>
              <td>{d.tags?.find((t) => t.key === 'mlflow.data.context')?.value ?? ''}</td>
              <td title={d.dataset.source}>{d.dataset.source_type ? `${d.dataset.source_type}: ` : ''}{d.dataset.source ?? ''}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

interface SearchRuns { runs?: MlflowRun[]; next_page_token?: string }

function ChildRuns({ run }: { run: MlflowRun }) {
  const [token, setToken] = useState<string | undefined>();
  const [rows, setRows] = useState<MlflowRun[]>([]);
  const load = useLoad(() => post<SearchRuns>(`${MLFLOW}/runs/search`, {
    experiment_ids: [run.info.experiment_id],
    filter: `tags.mlflow.parentRunId = ${quoteString(run.info.run_id)}`,
    max_results: 100, order_by: ['attributes.start_time ASC'], page_token: token,
  }), [run.info.run_id, token]);
  useEffect(() => { if (load.data) setRows((r) => (token ? [...r, ...(load.data!.runs ?? [])] : load.data!.runs ?? [])); }, [load.data]);
  return (
    <section class="card" data-testid="run-children">
      <h2>Child runs <span class="muted">{rows.length}{load.data?.next_page_token ? '+' : ''}</span></h2>
      {load.error && <ErrorBox error={load.error} onRetry={load.reload} />}
      {!load.data && !load.error && <Loading />}
      {load.data && rows.length === 0 && <p class="muted">No child runs.</p>}
      {rows.length > 0 && (
        <table class="data">
          <thead><tr><th>Name</th><th>Status</th><th>Start time</th></tr></thead>
          <tbody>{rows.map((c) => (
            <tr data-testid="child-run"><td><a href={href(['runs', c.info.run_id])}>{c.info.run_name || c.info.run_id}</a></td>
              <td><StatusBadge status={c.info.status} /></td><td>{formatTime(c.info.start_time)}</td></tr>
          ))}</tbody>
        </table>
      )}
      {load.data?.next_page_token && <button type="button" onClick={() => setToken(load.data!.next_page_token)}>More</button>}
    </section>
  );
}

interface ModelVersion { name: string; version: string; current_stage?: string; status?: string; creation_timestamp?: number; aliases?: string[] }

function ModelVersions({ runId }: { runId: string }) {
  const load = useLoad(() => get<{ model_versions?: ModelVersion[] }>(`${MLFLOW}/model-versions/search`, {
    filter: `run_id = ${quoteString(runId)}`, max_results: 100,
  }), [runId]);
  return (
    <section class="card" data-testid="run-model-versions">
      <h2>Model versions from this run</h2>
      <Async load={load} what="model versions">
        {(d) => (d.model_versions ?? []).length === 0 ? <p class="muted">No model versions.</p> : (
          <table class="data">
            <thead><tr><th>Model</th><th>Version</th><th>Stage</th><th>Created</th></tr></thead>
            <tbody>{(d.model_versions ?? []).map((v) => (
              <tr data-testid="model-version">
                <td><a href={href(['models', v.name])}>{v.name}</a></td>
                <td><a href={href(['models', v.name, 'versions', v.version])}>{v.version}</a></td>
                <td>{v.current_stage ?? ''}{(v.aliases ?? []).map((a) => <span class="badge">@{a}</span>)}</td>
                <td>{formatTime(v.creation_timestamp)}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
      </Async>
    </section>
  );
}

// ---- charts ---------------------------------------------------------------

const CHARTS_PER_PAGE = 24;
const KEYS_PER_REQUEST = 100;

function Charts({ run, focusKey }: { run: MlflowRun; focusKey: string }) {
  const keys = useMemo(() => Array.from(new Set((run.data.metrics ?? []).map((m) => m.key))).sort(), [run]);
  const [search, setSearch] = useState(focusKey);
  const [limit, setLimit] = useState(CHARTS_PER_PAGE);
  const [xKind, setXKind] = useState<XKind>('step');
  const [logY, setLogY] = useState(false);
  const [smoothing, setSmoothing] = useState(0);
  const s = search.trim().toLowerCase();
  const matching = s ? keys.filter((k) => k.toLowerCase().includes(s)) : keys;
  const shown = matching.slice(0, limit);
  const shownKey = shown.join('\u0000');
  const series = useLoad(async () => {
    const out = new Map<string, ApiSeries>();
    for (let i = 0; i < shown.length; i += KEYS_PER_REQUEST) {
      const r = await post<{ series: ApiSeries[] }>(`${V1}/series`, { run_ids: [run.info.run_id], keys: shown.slice(i, i + KEYS_PER_REQUEST), max_points: 1000 });
      for (const x of r.series ?? []) if (x.key) out.set(x.key, x);
    }
    return out;
  }, [run.info.run_id, shownKey]);
  if (keys.length === 0) return <p class="muted" data-testid="no-metrics">This run has no metrics.</p>;
  return (
    <div class="run-charts">
      <div class="toolbar chart-toolbar">
        <input type="search" placeholder="Filter metrics" aria-label="Filter metric keys" data-testid="chart-filter" value={search}
          onInput={(e) => { setSearch((e.target as HTMLInputElement).value); setLimit(CHARTS_PER_PAGE); }} />
        <label>x axis <select data-testid="charts-x" value={xKind} onChange={(e) => setXKind((e.target as HTMLSelectElement).value as XKind)}>
          <option value="step">step</option><option value="time">time</option></select></label>
        <label><input type="checkbox" data-testid="charts-log" checked={logY} onChange={(e) => setLogY((e.target as HTMLInputElement).checked)} /> log y</label>
        <label>smoothing <input type="range" min={0} max={0.99} step={0.01} value={smoothing} data-testid="charts-smoothing"
          onInput={(e) => setSmoothing(Number((e.target as HTMLInputElement).value))} /> {smoothing.toFixed(2)}</label>
        <span class="muted">{matching.length} of {keys.length} metrics</span>
      </div>
      {series.error && <ErrorBox error={series.error} onRetry={series.reload} />}
      {!series.data && !series.error && <Loading what="series" />}
      {series.data && (
        <div class="chart-grid">
          {shown.map((k) => <MetricChart key={k} runId={run.info.run_id} metric={k} s={series.data!.get(k)} xKind={xKind} logY={logY} smoothing={smoothing} />)}
        </div>
      )}
      {matching.length > shown.length && (
        <button type="button" data-testid="more-charts" onClick={() => setLimit(limit + CHARTS_PER_PAGE)}>
          Show {Math.min(CHARTS_PER_PAGE, matching.length - shown.length)} more of {matching.length - shown.length}
        </button>
      )}
    </div>
  );
}

function MetricChart({ runId, metric, s, xKind, logY, smoothing }: { runId: string; metric: string; s?: ApiSeries; xKind: XKind; logY: boolean; smoothing: number }) {
  const data: ChartSeries[] = useMemo(() => (s ? [fromApiSeries(s, metric)] : []), [s, metric]);
  const csv = `${V1}/runs/${encodeURIComponent(runId)}/series.csv?key=${encodeURIComponent(metric)}`;
  // Expanded: the full width, taller, with the chart's own toolbar.
  const [big, setBig] = useState(false);
  return (
    <section class={'card metric-chart' + (big ? ' big' : '')} data-testid="metric-chart" data-key={metric}>
      <button type="button" class="link-button chart-expand" data-testid="chart-expand" aria-pressed={big} onClick={() => setBig(!big)}>
        {big ? 'Smaller' : 'Expand'}
      </button>
      <LineChart title={metric} series={data} xKind={xKind} logY={logY} smoothing={smoothing} controls={big} height={big ? 420 : 220} />
      <div class="chart-foot muted">
        {s ? <span data-testid="points-note">{s.downsampled ? `${s.values.length.toLocaleString('en-US')} of ${Number(s.total_points).toLocaleString('en-US')} points (downsampled)` : `${Number(s.total_points ?? s.values.length).toLocaleString('en-US')} points`}</span> : 'no series'}
        {' · '}<a href={csv} download={`${metric}.csv`} data-testid="series-csv">full series (CSV)</a>
      </div>
    </section>
  );
}

// ---- artifacts ------------------------------------------------------------

interface FileInfo { path: string; is_dir: boolean; file_size?: number | string }

function artifactUrl(runId: string, path: string, download = false): string {
  return `${V1}/runs/${encodeURIComponent(runId)}/artifact?path=${encodeURIComponent(path)}${download ? '&download=1' : ''}`;
}

function Artifacts({ run, path }: { run: MlflowRun; path: string }) {
  const runId = run.info.run_id;
  const [selected, setSelected] = useState<FileInfo | null>(null);
  // The file named in the URL: find its size from its folder's listing.
  const parentDir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  const fromUrl = useLoad(async () => {
    if (!path) return null;
    const r = await get<{ files?: FileInfo[] }>(`${MLFLOW}/artifacts/list`, { run_id: runId, path: parentDir || undefined });
    return (r.files ?? []).find((f) => f.path === path) ?? null;
  }, [runId, path]);
  useEffect(() => { if (fromUrl.data !== undefined) setSelected(fromUrl.data); }, [fromUrl.data]);
  return (
    <div class="artifacts">
      <div class="artifact-tree card" data-testid="artifact-tree">
        <Folder runId={runId} dir="" open selectedPath={path} onSelect={(f) => setQuery({ path: f.path }, false)} />
      </div>
      <div class="artifact-preview card" data-testid="artifact-preview">
        {!path ? <p class="muted">Choose a file to preview it.</p>
          : fromUrl.error ? <ErrorBox error={fromUrl.error} />
          : fromUrl.data === null ? <p class="muted" data-testid="artifact-missing">No file <code>{path}</code> in this run's artifacts.</p>
          : selected && selected.path === path ? <Preview runId={runId} file={selected} />
          : <Loading />}
      </div>
    </div>
  );
}

function Folder({ runId, dir, open: initiallyOpen, selectedPath, onSelect, depth = 0 }: {
  runId: string; dir: string; open?: boolean; selectedPath: string; onSelect: (f: FileInfo) => void; depth?: number;
}) {
  const [open, setOpen] = useState(!!initiallyOpen || (dir !== '' && selectedPath.startsWith(dir + '/')));
  const load = useLoad(() => (open ? get<{ files?: FileInfo[] }>(`${MLFLOW}/artifacts/list`, { run_id: runId, path: dir || undefined }) : Promise.resolve(undefined)), [runId, dir, open]);
  const files = [...(load.data?.files ?? [])].sort((a, b) => (a.is_dir === b.is_dir ? a.path.localeCompare(b.path) : a.is_dir ? -1 : 1));
  const name = dir.slice(dir.lastIndexOf('/') + 1);
  return (
    <div class="tree-folder" data-testid={dir ? 'tree-folder' : 'tree-root'} data-path={dir}>
      {dir !== '' && (
        <button type="button" class="tree-item folder" aria-expanded={open} style={{ paddingLeft: depth * 14 + 'px' }} onClick={() => setOpen(!open)}>
          <span class="tree-icon">{open ? '▾' : '▸'}</span>{name}/
        </button>
      )}
      {open && (
        <div class="tree-children">
          {load.error && <ErrorBox error={load.error} onRetry={load.reload} />}
          {open && !load.data && !load.error && <div class="muted" style={{ paddingLeft: (depth + 1) * 14 + 'px' }}>Loading…</div>}
          {load.data && files.length === 0 && dir === '' && <p class="muted" data-testid="no-artifacts">No artifacts.</p>}
          {files.map((f) => f.is_dir
            ? <Folder key={f.path} runId={runId} dir={f.path} selectedPath={selectedPath} onSelect={onSelect} depth={dir === '' ? 0 : depth + 1} />
            : (
              <button type="button" class={'tree-item file' + (f.path === selectedPath ? ' selected' : '')} data-testid="tree-file" data-path={f.path}
                style={{ paddingLeft: (dir === '' ? 0 : depth + 1) * 14 + 14 + 'px' }} onClick={() => onSelect(f)}>
                {f.path.slice(f.path.lastIndexOf('/') + 1)} <span class="muted">{formatBytes(f.file_size)}</span>
              </button>
            ))}
        </div>
      )}
    </div>
  );
}

type Kind = 'image' | 'json' | 'csv' | 'tsv' | 'text' | 'unknown';
const TEXT_EXT = new Set(['txt', 'log', 'md', 'yaml', 'yml', 'py', 'sh', 'cfg', 'ini', 'toml', 'xml', 'html', 'svg', 'r', 'sql', 'js', 'ts', 'c', 'cc', 'cpp', 'h', 'java', 'go', 'rs', 'out', 'err', 'properties', 'conf', 'env', 'rst', 'tex', 'lock', 'requirements', 'dockerfile', 'mlmodel']);
function kindOf(path: string): Kind {
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const dot = base.lastIndexOf('.');
  const ext = dot >= 0 ? base.slice(dot + 1) : base;
  if (['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp'].includes(ext)) return 'image';
  if (ext === 'json') return 'json';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  if (TEXT_EXT.has(ext) || base === 'mlmodel' || base === 'makefile' || base === 'license') return 'text';
  return 'unknown';
}

function Preview({ runId, file }: { runId: string; file: FileInfo }) {
  const size = Number(file.file_size ?? 0);
  const kind = kindOf(file.path);
  const tooBig = size > PREVIEW_LIMIT;
  const download = (
    <a class="download" href={artifactUrl(runId, file.path, true)} download={file.path.slice(file.path.lastIndexOf('/') + 1)} data-testid="artifact-download">
      Download
    </a>
  );
  return (
    <div data-testid="preview" data-path={file.path}>
      <div class="preview-head">
        <strong data-testid="preview-name">{file.path}</strong> <span class="muted">{formatBytes(size)}</span>
        <span class="spacer" />{download}
      </div>
      {tooBig ? (
        <p class="muted" data-testid="preview-too-big">This file is {formatBytes(size)}, above the {formatBytes(PREVIEW_LIMIT)} preview limit: download it to view it.</p>
      ) : kind === 'image' ? (
        <img class="artifact-image" data-testid="preview-image" src={artifactUrl(runId, file.path)} alt={file.path} />
      ) : (
        <TextPreview runId={runId} path={file.path} kind={kind} />
      )}
    </div>
  );
}

function TextPreview({ runId, path, kind }: { runId: string; path: string; kind: Kind }) {
  const load = useLoad(async () => {
    const res = await fetch(artifactUrl(runId, path));
    if (!res.ok) {
      let msg = res.statusText;
      try { const j = await res.json(); msg = j.message ?? msg; } catch { /* not JSON */ }
      throw new ApiError(res.status, `HTTP_${res.status}`, msg);
    }
    return res.text();
  }, [runId, path]);
  return (
    <Async load={load} what="preview">
      {(text) => {
        if (kind === 'json') {
          try {
            return <pre class="preview-text" data-testid="preview-json">{JSON.stringify(JSON.parse(text), null, 2)}</pre>;
          } catch (e) {
            return <><p class="muted" data-testid="preview-json-invalid">Not valid JSON ({String((e as Error).message)}); shown as text.</p><pre class="preview-text">{text}</pre></>;
          }
        }
        if (kind === 'csv' || kind === 'tsv') {
          const { rows, truncated } = parseCsv(text, CSV_ROWS + 1, kind === 'tsv' ? '\t' : ',');
          const [head, ...body] = rows;
          const shown = body.slice(0, CSV_ROWS);
          return (
            <div class="csv-preview">
              <p class="muted" data-testid="csv-note">{truncated || body.length > CSV_ROWS
                ? `The first ${CSV_ROWS} rows; the file has more (download it for all).`
                : `${shown.length} row${shown.length === 1 ? '' : 's'}`}</p>
              <div class="csv-scroll">
                <table class="data" data-testid="preview-csv">
                  <thead><tr>{(head ?? []).map((h) => <th>{h}</th>)}</tr></thead>
                  <tbody>{shown.map((r) => <tr>{r.map((c) => <td>{c}</td>)}</tr>)}</tbody>
                </table>
              </div>
            </div>
          );
        }
        if (kind === 'unknown' && /\u0000/.test(text.slice(0, 8192))) {
          return <p class="muted" data-testid="preview-binary">Binary file: no preview. Use the download link.</p>;
        }
        return <pre class="preview-text" data-testid="preview-text">{text}</pre>;
      }}
    </Async>
  );
}
