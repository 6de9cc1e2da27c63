// A directed acyclic graph drawn as SVG, left to right, with our own layered
// layout (no graph library):
//   1. layers: each node's layer is the length of the longest path reaching
//      it (sources in layer 0), so every edge points rightwards;
//   2. order within a layer: a few barycenter sweeps (down then up) to cut
//      edge crossings, starting from the input order;
//   3. coordinates: layers are columns, nodes stacked and centred vertically.
// Edges are cubic curves from a node's right side to its successor's left;
// an edge spanning several layers runs through a slot of its own in each.
// A cycle (which the server should never send) does not hang the layout:
// the edge that closes it is drawn but ignored for layering.
//
// Props: nodes {id, label, sublabel?, kind} where kind picks the colour
// class (ok, cached, failed, skipped, running, unknown); edges {from, to}
// (unknown ids are ignored); selected id; onSelect(id) on click or Enter.
import { useMemo } from 'preact/hooks';

export type DagNodeKind = 'ok' | 'cached' | 'failed' | 'skipped' | 'running' | 'unknown';
export interface DagNode { id: string; label: string; sublabel?: string; kind: DagNodeKind }
export interface DagEdge { from: string; to: string }

export interface DagLayout {
  positions: Map<string, { x: number; y: number; layer: number; order: number }>;
  // Per edge ("from\u0000to"): the points its line passes, left to right: the
  // source's right side, the left and right ends of each slot it crosses in
  // the layers between, the target's left side.
  routes: Map<string, { x: number; y: number }[]>;
  width: number; height: number; layers: string[][];
}

export const NODE_W = 168;
export const NODE_H = 46;
const GAP_X = 64;
const GAP_Y = 18;
const PAD = 12;
export const edgeKey = (e: DagEdge) => e.from + '\u0000' + e.to;

// Layering, ordering and coordinates as described at the top. An edge that
// spans several layers gets a virtual node in each layer it crosses (as in
// Sugiyama's method), so the ordering keeps it clear of the boxes there.
export function layoutDag(nodeIds: string[], edges: DagEdge[]): DagLayout {
  const known = new Set(nodeIds);
  const real = edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to);
  const preds = new Map<string, string[]>(nodeIds.map((id) => [id, []]));
  for (const e of real) preds.get(e.to)!.push(e.from);
  // Longest path from a source, by DFS with memo; a back edge (cycle) counts as no edge.
  const layer = new Map<string, number>();
  const onStack = new Set<string>();
  const visit = (id: string): number => {
    const memo = layer.get(id);
    if (memo !== undefined) return memo;
    onStack.add(id);
    let l = 0;
    for (const p of preds.get(id)!) if (!onStack.has(p)) l = Math.max(l, visit(p) + 1);
    onStack.delete(id);
    layer.set(id, l);
    return l;
  };
  nodeIds.forEach(visit);
  const nLayers = nodeIds.length ? Math.max(...nodeIds.map((id) => layer.get(id)!)) + 1 : 0;
  const slots: string[][] = Array.from({ length: nLayers }, () => []);
  nodeIds.forEach((id) => slots[layer.get(id)!].push(id));
  // Chains of virtual nodes for long forward edges; the ordering graph links consecutive layers only.
  const up = new Map<string, string[]>(); const down = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    (down.get(a) ?? down.set(a, []).get(a)!).push(b);
    (up.get(b) ?? up.set(b, []).get(b)!).push(a);
  };
  const chains = new Map<string, string[]>();
  real.forEach((e, i) => {
    const la = layer.get(e.from)!; const lb = layer.get(e.to)!;
    if (lb <= la) return;  // a back edge of a cycle: drawn directly, not laid out
    const chain: string[] = [];
    let prev = e.from;
    for (let l = la + 1; l < lb; l++) {
      const v = `\u0000v${i}:${l}`;
      slots[l].push(v); chain.push(v); link(prev, v); prev = v;
    }
    link(prev, e.to);
    chains.set(edgeKey(e), chain);
  });
  // Barycenter sweeps: order each layer by the mean position of its neighbours in the previous one.
  const pos = new Map<string, number>();
  slots.forEach((ids) => ids.forEach((id, i) => pos.set(id, i)));
  const reorder = (ids: string[], neighbours: (id: string) => string[]) => {
    const key = new Map<string, number>();
    ids.forEach((id, i) => {
      const ns = neighbours(id);
      key.set(id, ns.length ? ns.reduce((s, n) => s + pos.get(n)!, 0) / ns.length : i);
    });
    ids.sort((a, b) => key.get(a)! - key.get(b)! || pos.get(a)! - pos.get(b)!);
    ids.forEach((id, i) => pos.set(id, i));
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    for (let l = 1; l < nLayers; l++) reorder(slots[l], (id) => up.get(id) ?? []);
    for (let l = nLayers - 2; l >= 0; l--) reorder(slots[l], (id) => down.get(id) ?? []);
  }
  const tallest = Math.max(0, ...slots.map((ids) => ids.length));
  const height = PAD * 2 + tallest * NODE_H + Math.max(0, tallest - 1) * GAP_Y;
  const width = PAD * 2 + nLayers * NODE_W + Math.max(0, nLayers - 1) * GAP_X;
  const all = new Map<string, { x: number; y: number; layer: number; order: number }>();
  slots.forEach((ids, l) => {
    const colH = ids.length * NODE_H + Math.max(0, ids.length - 1) * GAP_Y;
    const top = (height - colH) / 2;
    ids.forEach((id, i) => all.set(id, { x: PAD + l * (NODE_W + GAP_X), y: top + i * (NODE_H + GAP_Y), layer: l, order: i }));
  });
  const positions = new Map([...all].filter(([id]) => known.has(id)));
  const routes = new Map<string, { x: number; y: number }[]>();
  for (const e of real) {
    const a = all.get(e.from)!; const b = all.get(e.to)!;
    const pts = [{ x: a.x + NODE_W, y: a.y + NODE_H / 2 }];
    for (const v of chains.get(edgeKey(e)) ?? []) {
      const p = all.get(v)!;
      pts.push({ x: p.x, y: p.y + NODE_H / 2 }, { x: p.x + NODE_W, y: p.y + NODE_H / 2 });
    }
    pts.push({ x: b.x, y: b.y + NODE_H / 2 });
    routes.set(edgeKey(e), pts);
  }
  const layers = slots.map((ids) => ids.filter((id) => known.has(id)));
  return { positions, routes, width, height, layers };
}

// An SVG path through route points: curves between layers, straight across a crossed layer.
function routePath(pts: { x: number; y: number }[]): string {
  let d = `M ${pts[0].x} ${pts[0].y}`;
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i - 1]; const q = pts[i];
    const last = i === pts.length - 1;
    const qx = last ? q.x - 2 : q.x;
    if (i % 2 === 0 && !last) { d += ` L ${q.x} ${q.y}`; continue; }  // across a virtual slot
    const dx = Math.max(24, Math.abs(qx - p.x) / 2);
    d += ` C ${p.x + dx} ${p.y}, ${qx - dx} ${q.y}, ${qx} ${q.y}`;
  }
  return d;
}

function clip(s: string, n: number): string { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

export function Dag({ nodes, edges, selected, onSelect }: {
  nodes: DagNode[]; edges: DagEdge[]; selected?: string | null; onSelect?: (id: string) => void;
}) {
  const layout = useMemo(() => layoutDag(nodes.map((n) => n.id), edges), [nodes, edges]);
  if (nodes.length === 0) return <p class="muted">No steps.</p>;
  const { positions, routes, width, height } = layout;
  return (
    <div class="dag-scroll">
      <svg class="dag" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="pipeline graph" data-testid="dag">
        <defs>
          <marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrowhead" />
          </marker>
        </defs>
        {edges.map((e) => {
          const pts = routes.get(edgeKey(e));
          if (!pts) return null;
          return <path key={edgeKey(e)} class="dag-edge" data-testid="dag-edge" data-from={e.from} data-to={e.to}
            d={routePath(pts)} marker-end="url(#dag-arrow)" />;
        })}
        {nodes.map((n) => {
          const p = positions.get(n.id)!;
          const sel = selected === n.id;
          return (
            <g key={n.id} class={`dag-node ${n.kind}${sel ? ' selected' : ''}`} transform={`translate(${p.x},${p.y})`}
              role="button" tabindex={0} aria-label={`${n.label}: ${n.sublabel ?? n.kind}`} aria-pressed={sel}
              data-testid="dag-node" data-id={n.id} data-kind={n.kind} data-layer={p.layer}
              onClick={() => onSelect?.(n.id)}
              onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect?.(n.id); } }}>
              <title>{n.label}{n.sublabel ? ` (${n.sublabel})` : ''}</title>
              <rect width={NODE_W} height={NODE_H} rx={6} ry={6} />
              <text x={10} y={19} class="dag-label">{clip(n.label, 22)}</text>
              {n.sublabel && <text x={10} y={36} class="dag-sublabel">{clip(n.sublabel, 26)}</text>}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
