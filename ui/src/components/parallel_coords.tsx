// Parallel coordinates and a scatter plot in SVG (our own code), for the
// compare page.
//
//   <ParallelCoords axes={[{key, label, values: [v per line]}]} lines={[{id, label, color}]} />
//   <Scatter x={axis} y={axis} points={lines} />
//
// An axis's values are one per line (same order as `lines`): numbers,
// strings or null (missing). An axis is numeric when every present value is
// a finite number or a string that reads as one (params are strings), else
// categorical: its distinct values, sorted, evenly spaced. Numeric axes are
// linear from min to max (a constant axis sits in the middle) with "nice"
// ticks. A missing value is drawn at a "missing" slot under the axis, so a
// line never silently disappears. Hovering a line (or its legend entry)
// highlights it. Labels are rendered as text.
import { useState } from 'preact/hooks';
import { formatValue } from './common';

export type AxisValue = number | string | null | undefined;
export interface PlotAxis { key: string; label: string; values: AxisValue[] }
export interface PlotLine { id: string; label: string; color: string }

export interface Scale {
  kind: 'numeric' | 'categorical';
  // position in [0, 1] (0 = bottom/left); null for a missing value
  pos: (v: AxisValue) => number | null;
  ticks: { pos: number; label: string }[];
}

function asNumber(v: AxisValue): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') { const n = Number(v); return Number.isFinite(n) ? n : null; }
  return null;
}
const present = (v: AxisValue) => v !== null && v !== undefined && v !== '';

// Round tick steps (1, 2, 5 x 10^k) covering [lo, hi].
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function makeScale(values: AxisValue[]): Scale {
  const given = values.filter(present);
  const numeric = given.length > 0 && given.every((v) => asNumber(v) !== null);
  if (numeric) {
    const nums = given.map((v) => asNumber(v)!);
    const lo = Math.min(...nums); const hi = Math.max(...nums);
    const pos = (v: AxisValue) => {
      if (!present(v)) return null;
      const n = asNumber(v);
      if (n === null) return null;
      return hi > lo ? (n - lo) / (hi - lo) : 0.5;
    };
    const ticks = hi > lo ? niceTicks(lo, hi).map((v) => ({ pos: (v - lo) / (hi - lo), label: formatValue(v) })) : [{ pos: 0.5, label: formatValue(lo) }];
    return { kind: 'numeric', pos, ticks };
  }
  const cats = [...new Set(given.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const at = (i: number) => (cats.length === 1 ? 0.5 : i / (cats.length - 1));
  return {
    kind: 'categorical',
    pos: (v) => { if (!present(v)) return null; const i = cats.indexOf(String(v)); return i < 0 ? null : at(i); },
    ticks: cats.map((c, i) => ({ pos: at(i), label: c })),
  };
}

function clip(s: string, n: number): string { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

const MISSING_GAP = 22;  // px below an axis where missing values sit

export function ParallelCoords({ axes, lines, height = 340 }: { axes: PlotAxis[]; lines: PlotLine[]; height?: number }) {
  const [hover, setHover] = useState<string | null>(null);
  if (axes.length < 2) return <p class="muted" data-testid="pc-empty">Choose at least two axes.</p>;
  const padL = 100; const padR = 60; const top = 50; const bottom = 34 + MISSING_GAP;
  const spacing = Math.max(120, Math.min(220, 1100 / Math.max(1, axes.length - 1)));
  const width = padL + padR + spacing * (axes.length - 1);
  const plotH = height - top - bottom;
  const scales = axes.map((a) => makeScale(a.values));
  const anyMissing = axes.map((a) => a.values.some((v) => !present(v)));
  const xOf = (i: number) => padL + i * spacing;
  const yOf = (p: number | null) => (p === null ? top + plotH + MISSING_GAP : top + (1 - p) * plotH);
  return (
    <div class="plot-scroll">
      <svg class="pc" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="parallel coordinates" data-testid="parallel-coords">
        {lines.map((l, li) => {
          const pts = axes.map((a, ai) => `${xOf(ai)},${yOf(scales[ai].pos(a.values[li]))}`);
          const dim = hover !== null && hover !== l.id;
          return (
            <polyline key={l.id} points={pts.join(' ')} class={'pc-line' + (hover === l.id ? ' hover' : '') + (dim ? ' dim' : '')}
              stroke={l.color} data-testid="pc-line" data-run-id={l.id}
              onMouseEnter={() => setHover(l.id)} onMouseLeave={() => setHover(null)}>
              <title>{l.label}: {axes.map((a) => `${a.label}=${present(a.values[li]) ? String(a.values[li]) : 'missing'}`).join(', ')}</title>
            </polyline>
          );
        })}
        {axes.map((a, ai) => {
          const s = scales[ai];
          return (
            <g key={a.key} class="pc-axis" data-testid="pc-axis" data-key={a.key} data-kind={s.kind} transform={`translate(${xOf(ai)},0)`}>
              <line x1={0} x2={0} y1={top} y2={top + plotH} />
              <text class="pc-axis-label" y={top - 26} text-anchor="middle">{clip(a.label, 28)}</text>
              <title>{a.label}</title>
              <text class="pc-axis-kind" y={top - 13} text-anchor="middle">{s.kind === 'numeric' ? '' : 'categories'}</text>
              {s.ticks.map((t) => (
                <g key={t.label} transform={`translate(0,${yOf(t.pos)})`}>
                  <title>{t.label}</title>
                  <line x1={-4} x2={0} />
                  <text x={-7} dy="0.32em" text-anchor="end" class="pc-tick" data-testid="pc-tick">{clip(t.label, 16)}</text>
                </g>
              ))}
              {anyMissing[ai] && <text y={top + plotH + MISSING_GAP} dy="0.32em" x={-7} text-anchor="end" class="pc-tick muted">missing</text>}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

export function Scatter({ x, y, points, height = 320 }: { x: PlotAxis; y: PlotAxis; points: PlotLine[]; height?: number }) {
  const [hover, setHover] = useState<string | null>(null);
  const width = 560; const padL = 70; const padR = 20; const top = 16; const bottom = 48;
  const sx = makeScale(x.values); const sy = makeScale(y.values);
  const plotW = width - padL - padR; const plotH = height - top - bottom;
  // Keep points off the frame: positions span 5%..95%.
  const px = (p: number) => padL + (0.05 + 0.9 * p) * plotW;
  const py = (p: number) => top + (1 - (0.05 + 0.9 * p)) * plotH;
  const shown = points.map((pt, i) => ({ pt, a: sx.pos(x.values[i]), b: sy.pos(y.values[i]), i })).filter((d) => d.a !== null && d.b !== null);
  const missing = points.length - shown.length;
  return (
    <div class="plot-scroll">
      <svg class="scatter" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${y.label} against ${x.label}`} data-testid="scatter">
        <rect x={padL} y={top} width={plotW} height={plotH} class="scatter-frame" />
        {sx.ticks.map((t) => (
          <g key={'x' + t.label} transform={`translate(${px(t.pos)},${top + plotH})`}>
            <line y1={0} y2={4} class="scatter-tick" /><line y1={0} y2={-plotH} class="scatter-grid" />
            <text y={16} text-anchor="middle" class="pc-tick">{clip(t.label, 12)}</text>
          </g>
        ))}
        {sy.ticks.map((t) => (
          <g key={'y' + t.label} transform={`translate(${padL},${py(t.pos)})`}>
            <line x1={-4} x2={0} class="scatter-tick" /><line x1={0} x2={plotW} class="scatter-grid" />
            <text x={-7} dy="0.32em" text-anchor="end" class="pc-tick">{clip(t.label, 10)}</text>
          </g>
        ))}
        <text x={padL + plotW / 2} y={height - 8} text-anchor="middle" class="pc-axis-label">{x.label}</text>
        <text transform={`translate(14,${top + plotH / 2}) rotate(-90)`} text-anchor="middle" class="pc-axis-label">{y.label}</text>
        {shown.map(({ pt, a, b, i }) => (
          <circle key={pt.id} cx={px(a!)} cy={py(b!)} r={hover === pt.id ? 7 : 5} fill={pt.color} class="scatter-point"
            data-testid="scatter-point" data-run-id={pt.id} onMouseEnter={() => setHover(pt.id)} onMouseLeave={() => setHover(null)}>
            <title>{pt.label}: {x.label}={String(x.values[i])}, {y.label}={String(y.values[i])}</title>
          </circle>
        ))}
      </svg>
      {missing > 0 && <p class="muted" data-testid="scatter-missing">{missing} run{missing === 1 ? '' : 's'} without both values not shown.</p>}
    </div>
  );
}
