// Line charts on uPlot, used by the run page and the compare page.
//
// API (stable; other pages import it):
//
//   import { LineChart, fromApiSeries, type ChartSeries } from '../components/chart';
//
//   <LineChart
//     title="loss"                         // optional, shown above the plot
//     series={[{ label: 'run a',           // legend text (rendered as text, never HTML)
//                x: [0, 1, 2],             // steps (or any ascending x)
//                t: [1700000000000, ...],  // optional: timestamps in ms, same length as x
//                y: [0.9, null, 0.5],      // null = gap (e.g. NaN on the server)
//                color: '#e41a1c' }]}      // optional; else a palette colour by index
//     xKind="step" | "time"                // initial x axis; "time" uses t (ms)
//     logY={false}                         // initial log scale on y (values <= 0 hidden)
//     smoothing={0}                        // initial EMA weight, 0..0.99 (0 = off)
//     height={260}                         // plot height in px; width follows the container
//     controls={true}                      // the small toolbar: x step/time, log y, smoothing
//     onOptionsChange={(o) => ...}         // called when the user changes the toolbar
//   />
//
// The props xKind/logY/smoothing are the initial values and are followed when
// they change (so a page can drive several charts from one toolbar with
// controls={false}). The chart resizes with its container and follows the
// light/dark theme. Helpers: fromApiSeries(json, label) turns an
// /api/v1 series object into a ChartSeries; ema(y, w) is the smoothing;
// seriesColor(i) the palette.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  x: number[];
  t?: number[];
  y: (number | null)[];
  color?: string;
}

export type XKind = 'step' | 'time';

export interface ChartOptions { xKind: XKind; logY: boolean; smoothing: number; }

export interface LineChartProps {
  title?: string;
  series: ChartSeries[];
  xKind?: XKind;
  logY?: boolean;
  smoothing?: number;
  height?: number;
  controls?: boolean;
  onOptionsChange?: (o: ChartOptions) => void;
}

// The JSON of GET /api/v1/runs/{id}/series or one item of POST /api/v1/series.
export interface ApiSeries {
  run_id?: string; key?: string; total_points?: number; downsampled?: boolean;
  steps: number[]; timestamps: number[]; values: (number | null)[];
}

// The x and t arrays are made once per ApiSeries object, so charts fed
// fromApiSeries(...) on every render see the same arrays and do not rebuild.
const axesCache = new WeakMap<ApiSeries, { x: number[]; t: number[] }>();
export function fromApiSeries(s: ApiSeries, label?: string, color?: string): ChartSeries {
  let axes = axesCache.get(s);
  if (!axes) { axes = { x: s.steps.map(Number), t: s.timestamps.map(Number) }; axesCache.set(s, axes); }
  return { label: label ?? s.key ?? '', x: axes.x, t: axes.t, y: s.values, color };
}

// The previous `series` when the new one has the same labels, colours and
// arrays (by identity): pages may pass a fresh list on every render.
function useStableSeries(series: ChartSeries[]): ChartSeries[] {
  const prev = useRef<ChartSeries[]>(series);
  const p = prev.current;
  const same = p === series || (p.length === series.length && p.every((a, i) => {
    const b = series[i];
    return a.label === b.label && a.color === b.color && a.x === b.x && a.y === b.y && a.t === b.t;
  }));
  if (!same) prev.current = series;
  return prev.current;
}

// Colour-blind-friendly enough, distinct on both themes.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#e6550d',
  '#31a354', '#756bb1', '#636363'];
export function seriesColor(i: number): string { return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]; }

// Exponential moving average with bias correction (like TensorBoard's), over
// the non-null points; nulls stay null. w = 0 returns the input.
export function ema(y: (number | null)[], w: number): (number | null)[] {
  if (!(w > 0)) return y;
  const weight = Math.min(w, 0.999);
  const out: (number | null)[] = new Array(y.length);
  let last = 0; let n = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v === null || v === undefined || !Number.isFinite(v)) { out[i] = null; continue; }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

function clampSmoothing(s: number | undefined): number {
  const v = Number(s ?? 0);
  if (!Number.isFinite(v) || v <= 0) return 0;
  return Math.min(v, 0.99);
}

// Puts every series on one shared ascending x (uPlot's data model). One
// series keeps its points as they are; several are merged by x value (the
// last point wins when one series has several points at the same x).
function align(series: ChartSeries[], xKind: XKind, logY: boolean, smoothing: number): uPlot.AlignedData {
  const xs = series.map((s) => (xKind === 'time' && s.t && s.t.length === s.x.length ? s.t : s.x));
  const ys = series.map((s) => {
    let y = ema(s.y, smoothing);
    if (logY) y = y.map((v) => (v !== null && v > 0 ? v : null));
    return y;
  });
  if (series.length === 1) {
    const x = xs[0]; const y = ys[0];
    // uPlot wants ascending x; time can go backwards in odd data: sort then.
    let sorted = true;
    for (let i = 1; i < x.length; i++) if (x[i] < x[i - 1]) { sorted = false; break; }
    if (sorted) return [x, y] as uPlot.AlignedData;
    const idx = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
    return [idx.map((i) => x[i]), idx.map((i) => y[i])] as uPlot.AlignedData;
  }
  const all = new Set<number>();
  xs.forEach((x) => x.forEach((v) => all.add(v)));
  const shared = Array.from(all).sort((a, b) => a - b);
  const pos = new Map<number, number>();
  shared.forEach((v, i) => pos.set(v, i));
  const cols = ys.map((y, si) => {
    const col: (number | null)[] = new Array(shared.length).fill(null);
    const x = xs[si];
    for (let i = 0; i < x.length; i++) col[pos.get(x[i])!] = y[i] ?? null;
    return col;
  });
  return [shared, ...cols] as uPlot.AlignedData;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function useTheme(): string {
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? '');
  useEffect(() => {
    const mo = new MutationObserver(() => setTheme(document.documentElement.dataset.theme ?? ''));
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => mo.disconnect();
  }, []);
  return theme;
}

// Steps are integers: tick spacings 1, 2, 5, 10, 20, 50, ...
const STEP_INCRS: number[] = [];
for (let m = 1; m <= 1e12; m *= 10) STEP_INCRS.push(m, 2 * m, 5 * m);

function fmtStepAxis(v: number): string {
  if (Math.abs(v) >= 1e6) return v.toExponential(1);
  if (Math.abs(v) >= 1e4) return (v / 1000).toFixed(Math.abs(v) >= 1e5 ? 0 : 1) + 'k';
  return String(Number(v.toPrecision(6)));
}

export function LineChart(props: LineChartProps) {
  const { title, height = 260, controls = true, onOptionsChange } = props;
  const series = useStableSeries(props.series);
  const [xKind, setXKind] = useState<XKind>(props.xKind ?? 'step');
  const [logY, setLogY] = useState<boolean>(props.logY ?? false);
  const [smoothing, setSmoothing] = useState<number>(clampSmoothing(props.smoothing));
  useEffect(() => { if (props.xKind) setXKind(props.xKind); }, [props.xKind]);
  useEffect(() => { if (props.logY !== undefined) setLogY(props.logY); }, [props.logY]);
  useEffect(() => { setSmoothing(clampSmoothing(props.smoothing)); }, [props.smoothing]);
  const theme = useTheme();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const hasTime = series.length > 0 && series.every((s) => s.t && s.t.length === s.x.length);
  const effX: XKind = xKind === 'time' && hasTime ? 'time' : 'step';

  const change = (o: Partial<ChartOptions>) => {
    const next = { xKind: o.xKind ?? xKind, logY: o.logY ?? logY, smoothing: o.smoothing ?? smoothing };
    if (o.xKind !== undefined) setXKind(o.xKind);
    if (o.logY !== undefined) setLogY(o.logY);
    if (o.smoothing !== undefined) setSmoothing(o.smoothing);
    onOptionsChange?.(next);
  };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fg = cssVar('--fg-muted', '#5f6b76');
    const grid = cssVar('--border', '#d8dee4');
    const smoothed = smoothing > 0;
    const data = align(series, effX, logY, smoothing);
    const raw = smoothed ? align(series, effX, logY, 0) : null;
    const uSeries: uPlot.Series[] = [{ label: effX === 'time' ? 'time' : 'step' }];
    series.forEach((s, i) => {
      // A series of one or two points draws no visible line: mark its points.
      const few = s.y.filter((v) => v !== null && v !== undefined).length <= 2;
      uSeries.push({ label: s.label, stroke: s.color ?? seriesColor(i), width: 1.5, spanGaps: series.length > 1,
        points: few ? { show: true, size: 7, fill: s.color ?? seriesColor(i) } : { show: false } });
    });
    let allData: uPlot.AlignedData = data;
    if (raw) {
      // The raw lines, faint, behind the smoothed ones; not in the legend.
      series.forEach((s, i) => {
        uSeries.push({ label: s.label + ' (raw)', stroke: (s.color ?? seriesColor(i)) + '40', width: 1, spanGaps: series.length > 1, points: { show: false } });
      });
      allData = [data[0], ...data.slice(1), ...raw.slice(1)] as uPlot.AlignedData;
    }
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 100),
      height,
      ms: 1,
      series: uSeries,
      scales: {
        x: { time: effX === 'time' },
        y: logY ? { distr: 3 } : {},
      },
      axes: [
        effX === 'time' ? { ...axis } : { ...axis, incrs: STEP_INCRS, values: (_u, vals) => vals.map(fmtStepAxis) },
        { ...axis, size: 60, values: (_u, vals) => vals.map((v) => (v === null ? '' : formatTick(v))) },
      ],
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
    };
    const u = new uPlot(opts, allData, el);
    if (raw) {
      // Hide the raw series' legend rows: they would double the legend.
      const rows = u.root.querySelectorAll('.u-legend .u-series');
      for (let i = series.length + 1; i < rows.length; i++) (rows[i] as HTMLElement).style.display = 'none';
    }
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => { ro.disconnect(); u.destroy(); plot.current = null; };
  }, [series, effX, logY, smoothing, height, theme]);

  const total = series.reduce((n, s) => n + s.x.length, 0);
  return (
    <div class="chart" data-testid="chart">
      {(title || controls) && (
        <div class="chart-head">
          {title && <span class="chart-title" data-testid="chart-title" title={title}>{title}</span>}
          {controls && (
            <span class="chart-controls">
              <select aria-label="x axis" data-testid="chart-x" value={effX}
                onChange={(e) => change({ xKind: (e.target as HTMLSelectElement).value as XKind })}>
                <option value="step">step</option>
                <option value="time" disabled={!hasTime}>time</option>
              </select>
              <label class="chart-check"><input type="checkbox" data-testid="chart-log" checked={logY}
                onChange={(e) => change({ logY: (e.target as HTMLInputElement).checked })} /> log y</label>
              <label class="chart-smooth" title="Smoothing (exponential moving average)">smooth
                <input type="range" min={0} max={0.99} step={0.01} value={smoothing} data-testid="chart-smoothing"
                  onInput={(e) => change({ smoothing: clampSmoothing(Number((e.target as HTMLInputElement).value)) })} />
                <span class="chart-smooth-value">{smoothing.toFixed(2)}</span>
              </label>
            </span>
          )}
        </div>
      )}
      {total === 0 ? <div class="muted chart-empty">No points.</div> : <div class="chart-plot" ref={box} />}
    </div>
  );
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e6) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}
