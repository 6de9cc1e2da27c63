// Deployments (#/deployments): what the `cairn serve` processes that report
// to this server serve, as they report it in their heartbeats (docs/ui.md,
// "Serving instances"). Per deployment: the traffic split (a bar of weights
// per version, shadows marked), the current request rate, p50/p99 latency and
// errors, a chart of rate and latency over the recent heartbeats, and the
// instances with their state (live / lost / stopped) and URL. Polls every 2 s.
// What is live, lost or stopped, and how instances add up, is the server's
// verdict (api/serving_instances_handlers.h); the page only shows it.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, useLoad, V1 } from '../api';
import type { Route } from '../router';
import { Async, ErrorBox, PageHeader, formatTime } from '../components/common';
import { LineChart, seriesColor, type ChartSeries } from '../components/chart';

interface Stats { rate: number; requests: number; errors: number; p50_ms: number | null; p99_ms: number | null }
interface TrafficRow extends Stats {
  model: string; version: string; alias: string | null; uri: string | null; weight: number; share: number;
  shadow: boolean; state: string; instances: number;
}
interface InstanceRef { instance_id: string; url: string; state: string; last_heartbeat: number }
interface HistoryPoint extends Stats { ts: number }
interface Deployment extends Stats {
  name: string; state: string; traffic: TrafficRow[]; instances: InstanceRef[]; history: HistoryPoint[];
}

export const POLL_MS = 2000;

const rate = (r: number) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)) + ' req/s';
const ms = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2)) + ' ms';
const versionLabel = (t: TrafficRow) => `${t.model} v${t.version || '?'}${t.alias ? ' @' + t.alias : ''}`;

function StateBadge({ state }: { state: string }) {
  const cls = state === 'live' || state === 'serving' ? 'ok' : state === 'lost' || state === 'failed' ? 'fail' : state === 'loading' ? 'warn' : '';
  return <span class={'badge ' + cls} data-testid="state">{state}</span>;
}

// The split as one bar: a segment per live version, as wide as its share;
// shadows follow as outlined chips (they get a copy, never a share).
function TrafficBar({ traffic }: { traffic: TrafficRow[] }) {
  const live = traffic.filter((t) => !t.shadow);
  const shadows = traffic.filter((t) => t.shadow);
  return (
    <div class="traffic" data-testid="traffic-bar">
      <div style={{ display: 'flex', height: '22px', borderRadius: '4px', overflow: 'hidden', border: '1px solid var(--border)' }}>
        {live.map((t, i) => (
          <div key={versionLabel(t)} data-testid="traffic-segment" data-version={t.version} data-share={t.share}
            title={`${versionLabel(t)}: weight ${t.weight} (${(t.share * 100).toFixed(1)} %)`}
            style={{ width: `${t.share * 100}%`, background: seriesColor(i), color: '#fff', fontSize: '12px',
              lineHeight: '22px', paddingLeft: t.share > 0 ? '6px' : 0, whiteSpace: 'nowrap', overflow: 'hidden' }}>
            {t.share > 0.08 ? `v${t.version} ${(t.share * 100).toFixed(0)} %` : ''}
          </div>
        ))}
      </div>
      {shadows.length > 0 && (
        <div style={{ marginTop: '4px', display: 'flex', gap: '6px', flexWrap: 'wrap' }}>
          {shadows.map((t) => (
            <span key={versionLabel(t)} class="badge" data-testid="shadow" data-version={t.version}
              style={{ border: '1px dashed var(--fg-muted)' }}>shadow {versionLabel(t)}</span>
          ))}
        </div>
      )}
    </div>
  );
}

function HistoryCharts({ d }: { d: Deployment }) {
  const { rateSeries, latencySeries } = useMemo(() => {
    const t = d.history.map((p) => p.ts);
    const r: ChartSeries[] = [{ label: 'req/s', x: t, t, y: d.history.map((p) => p.rate), color: seriesColor(0) }];
    const l: ChartSeries[] = [
      { label: 'p50 ms', x: t, t, y: d.history.map((p) => p.p50_ms), color: seriesColor(1) },
      { label: 'p99 ms', x: t, t, y: d.history.map((p) => p.p99_ms), color: seriesColor(2) },
    ];
    return { rateSeries: r, latencySeries: l };
    // The history is a new array on every poll; its last point says whether it changed.
  }, [d.history.length, d.history[d.history.length - 1]?.ts, d.history[d.history.length - 1]?.rate]);
  if (d.history.length === 0) return <p class="muted">No heartbeats with figures yet.</p>;
  return (
    <div class="grid2" data-testid="history" data-points={d.history.length}>
      <div data-testid="rate-chart"><LineChart title="Request rate" series={rateSeries} xKind="time" height={140} controls={false} /></div>
      <div data-testid="latency-chart"><LineChart title="Latency" series={latencySeries} xKind="time" height={140} controls={false} /></div>
    </div>
  );
}

function DeploymentCard({ d }: { d: Deployment }) {
  return (
    <section class="card" data-testid="deployment" data-name={d.name}>
      <h2><span data-testid="deployment-name">{d.name}</span> <StateBadge state={d.state} /></h2>
      <div style={{ display: 'flex', gap: '24px', flexWrap: 'wrap', margin: '4px 0 10px' }} data-testid="figures">
        <span>Rate <strong data-testid="rate" data-value={d.rate}>{rate(d.rate)}</strong></span>
        <span>p50 <strong data-testid="p50">{ms(d.p50_ms)}</strong></span>
        <span>p99 <strong data-testid="p99">{ms(d.p99_ms)}</strong></span>
        <span>Errors <strong data-testid="errors">{d.errors}</strong> of {d.requests} in the last interval</span>
      </div>
      <TrafficBar traffic={d.traffic} />
      <table class="data" data-testid="traffic-table" style={{ marginTop: '10px' }}>
        <thead><tr><th>Version</th><th>Role</th><th>Weight</th><th>Share</th><th>State</th><th>Rate</th><th>p50</th><th>p99</th><th>Errors</th><th>Instances</th></tr></thead>
        <tbody>
          {d.traffic.map((t) => (
            <tr key={versionLabel(t) + t.shadow} data-testid="traffic-row" data-model={t.model} data-version={t.version}>
              <td title={t.uri ?? undefined}>
                {/* Registry versions link to their page; a local folder has none. */}
                {t.uri?.startsWith('models:/')
                  ? <a href={`#/models/${encodeURIComponent(t.model)}/versions/${encodeURIComponent(t.version)}`} data-testid="version-link">{t.model}</a>
                  : <span data-testid="version-folder">{t.model}</span>}
                {' '}v{t.version}{t.alias && <span class="muted"> @{t.alias}</span>}
              </td>
              <td>{t.shadow ? 'shadow' : 'live'}</td>
              <td>{t.shadow ? '—' : t.weight}</td>
              <td>{t.shadow ? '—' : `${(t.share * 100).toFixed(1)} %`}</td>
              <td><StateBadge state={t.state} /></td>
              <td data-testid="version-rate" data-value={t.rate}>{rate(t.rate)}</td>
              <td>{ms(t.p50_ms)}</td>
              <td>{ms(t.p99_ms)}</td>
              <td>{t.errors}</td>
              <td>{t.instances}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <HistoryCharts d={d} />
      <h3 style={{ marginTop: '10px' }}>Instances</h3>
      <table class="data" data-testid="instances-table">
        <thead><tr><th>URL</th><th>State</th><th>Last heartbeat</th><th>Instance</th></tr></thead>
        <tbody>
          {d.instances.map((i) => (
            <tr key={i.instance_id} data-testid="instance-row" data-state={i.state}>
              <td><a href={i.url} target="_blank" rel="noreferrer noopener" data-testid="instance-url">{i.url}</a></td>
              <td><StateBadge state={i.state} /></td>
              <td>{formatTime(i.last_heartbeat)}</td>
              <td class="muted">{i.instance_id}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function EmptyState() {
  const origin = window.location.origin;
  return (
    <div class="card" data-testid="deployments-empty">
      <h2>No model server has reported here yet</h2>
      <p>
        A <code>cairn serve</code> process that knows this server sends it a heartbeat every few seconds
        (where it runs, what it serves, its request rate and latency), and its deployments appear here.
        Start one with this server as its tracking URI:
      </p>
      <pre data-testid="connect-command">cairn serve --model models:/&lt;name&gt;@&lt;alias&gt; --tracking-uri {origin}</pre>
      <p class="muted">
        Options: <code>--heartbeat-interval 5s</code> (how often it reports), <code>--advertise-url</code> (the URL
        shown here, when clients reach it at another address than <code>http://&lt;host&gt;:&lt;port&gt;</code>).
      </p>
    </div>
  );
}

export function DeploymentsPage({ route: _route }: { route: Route }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), POLL_MS);
    return () => clearInterval(timer);
  }, []);
  const load = useLoad(() => get<{ deployments: Deployment[] }>(`${V1}/serving/deployments`), [tick]);
  return (
    <div data-testid="deployments-page">
      <PageHeader title="Deployments">
        <span class="muted" data-testid="poll-note">updated every {POLL_MS / 1000} s</span>
      </PageHeader>
      {load.error && load.data !== undefined && <ErrorBox error={load.error} />}
      <Async load={load} what="deployments">
        {(data) => data.deployments.length === 0
          ? <EmptyState />
          : <div data-testid="deployments">{data.deployments.map((d) => <DeploymentCard key={d.name} d={d} />)}</div>}
      </Async>
    </div>
  );
}
