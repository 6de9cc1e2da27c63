// Monitoring: the monitors (#/monitoring) and one monitor (#/monitoring/{name}):
// drift per feature over time (results endpoint), a window's per-feature
// verdicts (the window's report), the windows, and alerts with fired and
// resolved times. What drifted and which alert fires is the server's
// verdict (docs/monitoring.md); the UI only shows it.
// URL state on a monitor page: stat= (charted statistic), range= (24h, 7d,
// 30d, all), window= (the window whose verdicts are shown), alerts= (firing,
// resolved, all).
import { useMemo, useState } from 'preact/hooks';
import { get, useLoad, V1, type Loaded } from '../api';
import { href, setQuery, type Route } from '../router';
import { Async, ErrorBox, Loading, PageHeader, formatTime, formatValue } from '../components/common';
import { LineChart, seriesColor, type ChartSeries } from '../components/chart';
import { KeyValues, LoadError, StatusBadge } from '../components/page_bits';

interface Monitor {
  id: number; name: string; model: string; deployment?: string; reference: string; log_uri?: string;
  window: string; grace?: string; schedule: string; task?: string; columns?: string[]; alerts: string[];
  drift_share?: number; active: boolean; created_at: number; updated_at: number; last_fired_at: number; webhook_id: number;
  alert_webhook?: string;
}
interface DriftColumn {
  column: string; kind?: string; test?: string; tested?: boolean; drifted: boolean; score: number | null;
  statistic?: number | null; threshold?: number | null; reference_count?: number; current_count?: number;
}
interface QualityColumn { column: string; missing_rate?: number; out_of_range_rate?: number; new_category_rate?: number; type_violations?: number; constant?: boolean }
interface Report {
  drift?: { columns: DriftColumn[]; drift_share?: number; drift_share_threshold?: number; dataset_drift?: boolean; drifted_columns?: number } | null;
  quality?: { columns: QualityColumn[]; rows?: number } | null;
  performance?: Record<string, unknown> | null;
  rules?: { rule: string; feature: string; holds: boolean; value: number | null }[];
}
interface Window {
  id: number; start: number; end: number; manual: boolean; status: string; rows: number; error: string;
  claimed_at: number; finished_at: number; report: Report | null;
}
interface Result { window_id: number; window_start: number; window_end: number; feature: string; statistic: string; value: number | null }
interface Alert {
  id: number; rule: string; feature: string; statistic: string; status: string; value: number | null;
  fired_at: number; fired_window_start: number; resolved_at: number; resolved_window_start: number;
}
interface MonitorDetail { monitor: Monitor; last_window: Window | null; open_alerts: Alert[] }

const STATS = ['drift_score', 'drifted', 'missing_rate', 'out_of_range_rate', 'new_category_rate', 'type_violations'];
const DATASET_STATS = ['drift_share', 'drifted_columns', 'rows', 'duplicate_rate', 'accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'mae', 'rmse'];
const RANGES: Record<string, number | null> = { '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3, '30d': 30 * 24 * 3600e3, all: null };

const monitorHref = (name: string) => href(['monitoring', name]);
const num = (v: number | null | undefined) => (v === null || v === undefined ? '—' : formatValue(v));

// ---------------------------------------------------------------- #/monitoring

function MonitorRow({ m }: { m: Monitor }) {
  // The list endpoint has the specs; the last window and open alerts come per monitor.
  const d = useLoad(() => get<MonitorDetail>(`${V1}/monitors/${encodeURIComponent(m.name)}`), [m.name]);
  const w = d.data?.last_window;
  const open = d.data?.open_alerts.length;
  return (
    <tr data-testid="monitor-row" data-name={m.name}>
      <td><a href={monitorHref(m.name)} data-testid="monitor-link">{m.name}</a>{!m.active && <span class="badge"> inactive</span>}</td>
      <td><a href={href(['models', m.model])}>{m.model}</a></td>
      <td>{m.window}</td>
      <td>{m.schedule ? <code>{m.schedule}</code> : <span class="muted">manual runs only</span>}</td>
      <td data-testid="monitor-last-window">
        {d.error ? <span class="muted">{d.error.message}</span> : !d.data ? '…' : w ? <>{formatTime(w.end)} <StatusBadge status={w.status} /> <span class="muted">{w.rows} rows</span></> : <span class="muted">none yet</span>}
      </td>
      <td class="num" data-testid="monitor-open-alerts">{open === undefined ? '' : open > 0 ? <span class="badge fail">{open} firing</span> : '0'}</td>
      <td>{formatTime(m.last_fired_at)}</td>
    </tr>
  );
}

export function MonitorsPage({ route }: { route: Route }) {
  void route;
  const load = useLoad(() => get<{ monitors: Monitor[] }>(V1 + '/monitors'), []);
  return (
    <div class="monitors-page">
      <PageHeader title="Monitoring" />
      <Async load={load} what="monitors">
        {(d) => d.monitors.length === 0 ? (
          <p class="muted" data-testid="monitors-empty">No monitors yet. Create one with <code>cairn monitors create</code> or <code>POST /api/v1/monitors</code>.</p>
        ) : (
          <table class="data" data-testid="monitors-table">
            <thead><tr><th>Monitor</th><th>Model</th><th>Window</th><th>Schedule</th><th>Last window</th><th class="num">Open alerts</th><th>Last scheduled run</th></tr></thead>
            <tbody>{d.monitors.map((m) => <MonitorRow key={m.name} m={m} />)}</tbody>
          </table>
        )}
      </Async>
    </div>
  );
}

// ---------------------------------------------------------------- #/monitoring/{name}

function DriftCharts({ name, stat, from, tests, tick }: { name: string; stat: string; from: number | null; tests: Map<string, DriftColumn>; tick: number }) {
  const perFeature = !DATASET_STATS.includes(stat);
  const load = useLoad(() => get<{ results: Result[] }>(`${V1}/monitors/${encodeURIComponent(name)}/results`, {
    statistic: stat, from: from ?? undefined,
  }), [name, stat, from, tick]);
  const groups = useMemo(() => {
    const g = new Map<string, Result[]>();
    for (const r of load.data?.results ?? []) {
      if (perFeature && r.feature === '') continue;
      const k = r.feature;
      g.set(k, [...(g.get(k) ?? []), r]);
    }
    for (const rs of g.values()) rs.sort((a, b) => a.window_start - b.window_start);
    return [...g.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [load.data, perFeature]);
  if (load.error) return <ErrorBox error={load.error} onRetry={load.reload} />;
  if (!load.data) return <Loading what="results" />;
  if (groups.length === 0) return <p class="muted" data-testid="no-results">No {stat} results in this range.</p>;
  return (
    <div class="grid2 drift-charts">
      {groups.map(([feature, rs], i) => {
        const t = tests.get(feature);
        const hint = stat === 'drift_score' && t?.test ? ` — ${t.test}${t.threshold !== undefined && t.threshold !== null ? `, threshold ${formatValue(t.threshold)}` : ''}` : '';
        const series: ChartSeries[] = [{
          label: feature || stat, x: rs.map((r) => r.window_start), t: rs.map((r) => r.window_start),
          y: rs.map((r) => r.value), color: seriesColor(i),
        }];
        const last = rs[rs.length - 1];
        return (
          <div class="card" key={feature} data-testid="drift-chart" data-feature={feature} data-points={rs.length}>
            <h3>{feature || '(dataset)'}<span class="muted small">{hint}</span></h3>
            <LineChart series={series} xKind="time" height={180} controls={false} />
            <div class="muted small" data-testid="drift-chart-last">latest {stat}: {num(last.value)} ({formatTime(last.window_start)})</div>
          </div>
        );
      })}
    </div>
  );
}

function VerdictTable({ w }: { w: Window }) {
  const drift = w.report?.drift?.columns ?? [];
  const quality = new Map((w.report?.quality?.columns ?? []).map((q) => [q.column, q]));
  if (!w.report) return <p class="muted">{w.status === 'empty' ? 'This window had no rows: no drift computed.' : w.error ? w.error : 'No report for this window.'}</p>;
  return (
    <>
      <p data-testid="window-summary">
        Window {formatTime(w.start)} – {formatTime(w.end)}{w.manual ? ' (manual run)' : ''}: {w.rows} rows,{' '}
        {w.report.drift ? <>{w.report.drift.drifted_columns ?? 0} of {drift.length} features drifted (share {num(w.report.drift.drift_share)}, threshold {num(w.report.drift.drift_share_threshold)}){w.report.drift.dataset_drift ? <strong class="fail-text"> — dataset drift</strong> : ''}</> : 'no drift computed'}
      </p>
      {drift.length > 0 && (
        <table class="data" data-testid="verdict-table">
          <thead><tr><th>Feature</th><th>Verdict</th><th>Test</th><th class="num">Score</th><th class="num">Threshold</th><th class="num">Statistic</th>
            <th class="num">Reference / current</th><th class="num">Missing</th><th class="num">Out of range</th></tr></thead>
          <tbody>
            {drift.map((c) => {
              const q = quality.get(c.column);
              return (
                <tr key={c.column} data-testid="verdict-row" data-feature={c.column} class={c.drifted ? 'drifted' : ''}>
                  <td>{c.column}</td>
                  <td data-testid="verdict">{c.tested === false ? <span class="badge">not tested</span> : c.drifted ? <span class="badge fail">drift</span> : <span class="badge ok">no drift</span>}</td>
                  <td>{c.test ?? ''}</td>
                  <td class="num">{num(c.score)}</td>
                  <td class="num">{num(c.threshold)}</td>
                  <td class="num">{num(c.statistic)}</td>
                  <td class="num">{c.reference_count ?? ''} / {c.current_count ?? ''}</td>
                  <td class="num">{q ? num(q.missing_rate) : ''}</td>
                  <td class="num">{q ? num(q.out_of_range_rate) : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {w.report.performance && Object.keys(w.report.performance).length > 0 && (
        <KeyValues testid="window-performance" rows={Object.entries(w.report.performance).filter(([, v]) => typeof v === 'number' || typeof v === 'string').map(([k, v]) => [k, typeof v === 'number' ? formatValue(v) : String(v)])} />
      )}
      {(w.report.rules ?? []).length > 0 && (
        <p class="muted small" data-testid="window-rules">Rules: {(w.report.rules ?? []).map((r) => `${r.rule}${r.feature ? ` [${r.feature}]` : ''} ${r.holds ? 'holds' : 'does not hold'} (${num(r.value)})`).join('; ')}</p>
      )}
    </>
  );
}

function WindowsSection({ load, selected, last }: { load: Loaded<{ windows: Window[] }>; selected: number | null; last: Window | null }) {
  const windows = load.data?.windows ?? [];
  let verdict;
  // By default the latest window that has drift verdicts (later windows may be empty).
  const latest = windows.find((w) => w.report?.drift) ?? last;
  if (selected === null) verdict = latest ? <VerdictTable w={latest} /> : load.data ? <p class="muted">No window processed yet.</p> : <Loading what="windows" />;
  else if (!load.data) verdict = load.error ? <ErrorBox error={load.error} onRetry={load.reload} /> : <Loading what="window" />;
  else {
    const w = windows.find((x) => x.id === selected);
    verdict = w ? <VerdictTable w={w} /> : <ErrorBox error={`Window ${selected} is not among the 50 latest windows of this monitor.`} />;
  }
  const currentId = selected ?? latest?.id;
  return (
    <>
      <section class="section">
        <h2>Per-feature verdicts</h2>
        {verdict}
      </section>
      <section class="section">
        <h2>Windows</h2>
        <Async load={load} what="windows">
          {(d) => d.windows.length === 0 ? <p class="muted">No windows yet.</p> : (
            <table class="data" data-testid="windows-table">
              <thead><tr><th>Start</th><th>End</th><th>Kind</th><th>Status</th><th class="num">Rows</th><th class="num">Drifted</th><th></th></tr></thead>
              <tbody>
                {d.windows.map((w) => (
                  <tr key={w.id} class={currentId === w.id ? 'selected' : ''} data-testid="window-row" data-window-id={w.id}>
                    <td>{formatTime(w.start)}</td><td>{formatTime(w.end)}</td><td>{w.manual ? 'manual' : 'scheduled'}</td>
                    <td><StatusBadge status={w.status} />{w.error && <span class="muted"> {w.error}</span>}</td>
                    <td class="num">{w.rows}</td>
                    <td class="num">{w.report?.drift ? `${w.report.drift.drifted_columns ?? 0} / ${w.report.drift.columns.length}` : ''}</td>
                    <td><button type="button" class="link-button" data-testid="show-window" onClick={() => setQuery({ window: String(w.id) })}>verdicts</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Async>
      </section>
    </>
  );
}

function AlertsSection({ name, status, tick }: { name: string; status: string; tick: number }) {
  const load = useLoad(() => get<{ alerts: Alert[] }>(`${V1}/monitors/${encodeURIComponent(name)}/alerts`, {
    status: status === 'all' ? undefined : status, limit: 200,
  }), [name, status, tick]);
  return (
    <section class="section">
      <div class="toolbar">
        <h2>Alerts</h2>
        <select value={status} data-testid="alert-status" aria-label="Alert status"
          onChange={(e) => setQuery({ alerts: (e.target as HTMLSelectElement).value === 'all' ? null : (e.target as HTMLSelectElement).value })}>
          <option value="all">all</option><option value="firing">firing</option><option value="resolved">resolved</option>
        </select>
      </div>
      <Async load={load} what="alerts">
        {(d) => d.alerts.length === 0 ? <p class="muted" data-testid="no-alerts">No {status === 'all' ? '' : status + ' '}alerts.</p> : (
          <table class="data" data-testid="alerts-table">
            <thead><tr><th>#</th><th>Rule</th><th>Feature</th><th>Status</th><th class="num">Value</th><th>Fired</th><th>Fired in window</th><th>Resolved</th><th>Resolved in window</th></tr></thead>
            <tbody>
              {d.alerts.map((a) => (
                <tr key={a.id} data-testid="alert-row" data-alert-id={a.id} data-feature={a.feature} data-status={a.status}>
                  <td>{a.id}</td><td><code>{a.rule}</code></td><td>{a.feature || <span class="muted">(dataset)</span>}</td>
                  <td><StatusBadge status={a.status} /></td><td class="num">{num(a.value)}</td>
                  <td data-testid="alert-fired">{formatTime(a.fired_at)}</td><td>{formatTime(a.fired_window_start)}</td>
                  <td data-testid="alert-resolved">{formatTime(a.resolved_at) || <span class="muted">—</span>}</td><td>{formatTime(a.resolved_window_start)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Async>
    </section>
  );
}

export function MonitorPage({ route, name }: { route: Route; name: string }) {
  // Refresh reloads everything on the page.
  const [tick, setTick] = useState(0);
  const load = useLoad(() => get<MonitorDetail>(`${V1}/monitors/${encodeURIComponent(name)}`), [name, tick]);
  const q = route.query;
  const stat = q.get('stat') || 'drift_score';
  const rangeKey = q.get('range') && q.get('range')! in RANGES ? q.get('range')! : '7d';
  // The range is anchored when the page loads, so re-renders do not refetch.
  const from = useMemo(() => (RANGES[rangeKey] === null ? null : Date.now() - RANGES[rangeKey]!), [rangeKey]);
  const windowId = q.get('window') ? Number(q.get('window')) : null;
  const alertStatus = ['firing', 'resolved'].includes(q.get('alerts') ?? '') ? q.get('alerts')! : 'all';
  const crumbs = [{ label: 'Monitoring', href: '#/monitoring' }];
  const windows = useLoad(() => get<{ windows: Window[] }>(`${V1}/monitors/${encodeURIComponent(name)}/windows`, { limit: 50 }), [name, tick]);
  // The test and threshold per feature, from the latest window that has drift verdicts.
  const tests = useMemo(() => {
    const w = windows.data?.windows.find((x) => x.report?.drift) ?? load.data?.last_window;
    return new Map((w?.report?.drift?.columns ?? []).map((c) => [c.column, c]));
  }, [windows.data, load.data]);
  if (load.error && !load.data) {
    return <><PageHeader title={name} crumbs={crumbs} />
      <LoadError error={load.error} what={`Monitor “${name}”`} back={{ label: 'All monitors', href: '#/monitoring' }} onRetry={load.reload} /></>;
  }
  if (!load.data) return <><PageHeader title={name} crumbs={crumbs} /><Loading what="monitor" /></>;
  const { monitor: m, last_window: lw, open_alerts: open } = load.data;
  return (
    <div class="monitor-page">
      <PageHeader title={m.name} crumbs={crumbs}>
        <button type="button" onClick={() => setTick((x) => x + 1)} data-testid="refresh">Refresh</button>
      </PageHeader>
      <KeyValues testid="monitor-attrs" rows={[
        ['Model', <a href={href(['models', m.model])}>{m.model}</a>],
        ['Reference', <code class="wrap">{m.reference}</code>],
        ['Window', `${m.window}${m.grace ? ` (grace ${m.grace})` : ''}`],
        ['Schedule', m.schedule ? <code>{m.schedule}</code> : <span class="muted">manual runs only</span>],
        ['Rules', m.alerts.map((r) => <code key={r} class="rule">{r}</code>)],
        ['Last window', lw ? <span data-testid="last-window">{formatTime(lw.start)} – {formatTime(lw.end)} <StatusBadge status={lw.status} /> {lw.rows} rows</span> : <span class="muted">none yet</span>],
        ['Open alerts', <span data-testid="open-alerts">{open.length === 0 ? 'none' : open.map((a) => `${a.rule}${a.feature ? ` [${a.feature}]` : ''}`).join(', ')}</span>],
      ]} />
      <section class="section">
        <div class="toolbar">
          <h2>Drift over time</h2>
          <label>Statistic <select value={stat} data-testid="stat" onChange={(e) => setQuery({ stat: (e.target as HTMLSelectElement).value })}>
            <optgroup label="per feature">{STATS.map((s) => <option key={s} value={s}>{s}</option>)}</optgroup>
            <optgroup label="per window">{DATASET_STATS.map((s) => <option key={s} value={s}>{s}</option>)}</optgroup>
          </select></label>
          <label>Range <select value={rangeKey} data-testid="range" onChange={(e) => setQuery({ range: (e.target as HTMLSelectElement).value })}>
            {Object.keys(RANGES).map((r) => <option key={r} value={r}>{r === 'all' ? 'all time' : 'last ' + r}</option>)}
          </select></label>
        </div>
        <DriftCharts name={m.name} stat={stat} from={from} tests={tests} tick={tick} />
      </section>
      <WindowsSection load={windows} selected={windowId} last={lw} />
      <AlertsSection name={m.name} status={alertStatus} tick={tick} />
    </div>
  );
}
