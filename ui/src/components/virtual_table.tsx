// A virtual-scrolled table for long, server-paged lists (the runs table).
//
//   <VirtualTable
//     columns={[{ id, header, width, render: (row, i) => ..., sortable?, align?: 'right', title?, sticky? }]}
//     loader={(offset, limit) => Promise<{ rows: R[]; total: number }>}
//     rowKey={(row) => string}
//     sort={{ id, desc }} onSort={(id) => ...}         // headers are buttons when onSort is given
//     selected={Set<string>} onToggleSelect={(key, row) => ...}   // adds a checkbox column
//     onOpen={(row) => ...}                              // Enter or double-click
//     onLoaded={(total) => ...} onError={(e) => ...}
//     rowHeight={30} pageSize={100} height="70vh" />
//
// Only the rows in view (plus a few) are in the DOM; the body is a spacer as
// tall as all rows. Rows come from `loader` in pages of `pageSize` by
// offset, fetched when they scroll into view. A new `loader` (e.g. a new
// filter or sort) first fetches its first page; only when that succeeds does
// the table switch to it (so a bad filter keeps the rows on screen and
// `onError` says why). Keyboard: arrows / PageUp / PageDown / Home / End
// move the focused row, Enter opens it, space selects it.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface VColumn<R> {
  id: string;
  header: ComponentChildren;
  width: number;
  render: (row: R, index: number) => ComponentChildren;
  sortable?: boolean;
  align?: 'left' | 'right';
  title?: string;
  sticky?: boolean;   // stays in view when scrolled sideways (leading columns only)
}

export interface LoadedPage<R> { rows: R[]; total: number; }

export interface VirtualTableProps<R> {
  columns: VColumn<R>[];
  loader: (offset: number, limit: number) => Promise<LoadedPage<R>>;
  rowKey: (row: R) => string;
  sort?: { id: string; desc: boolean } | null;
  onSort?: (id: string) => void;
  selected?: Set<string>;
  onToggleSelect?: (key: string, row: R) => void;
  onOpen?: (row: R) => void;
  onLoaded?: (total: number) => void;
  onError?: (e: unknown) => void;
  rowHeight?: number;
  pageSize?: number;
  height?: string;
  emptyText?: ComponentChildren;
  testid?: string;
}

const OVERSCAN = 8;
const MAX_PAGES_KEPT = 60;
const SELECT_WIDTH = 36;

interface Source<R> {
  loader: (offset: number, limit: number) => Promise<LoadedPage<R>>;
  total: number;
  pages: Map<number, R[]>;
}

export function VirtualTable<R>(props: VirtualTableProps<R>) {
  const { columns, loader, rowKey, sort, onSort, selected, onToggleSelect, onOpen, rowHeight = 30, pageSize = 100,
    height = 'calc(100vh - 260px)', emptyText, testid = 'vtable' } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [source, setSource] = useState<Source<R> | null>(null);
  const [, setTick] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(600);
  const [focus, setFocus] = useState(0);
  const [switching, setSwitching] = useState(false);
  const inflight = useRef(new Set<string>());
  const cb = useRef(props);
  cb.current = props;

  // A new loader: fetch its first page, then switch to it; on error keep the old rows.
  useEffect(() => {
    let live = true;
    setSwitching(true);
    loader(0, pageSize).then((p) => {
      if (!live) return;
      const pages = new Map<number, R[]>();
      pages.set(0, p.rows);
      setSource({ loader, total: p.total, pages });
      inflight.current.clear();
      setSwitching(false);
      setFocus(0);
      if (scroller.current) scroller.current.scrollTop = 0;
      setScrollTop(0);
      cb.current.onLoaded?.(p.total);
    }, (e) => {
      if (!live) return;
      setSwitching(false);
      cb.current.onError?.(e);
    });
    return () => { live = false; };
  }, [loader, pageSize]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight));
    ro.observe(el);
    setViewH(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  const total = source?.total ?? 0;
  const headerH = rowHeight + 2;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(total - 1, Math.ceil((scrollTop + viewH - headerH) / rowHeight) + OVERSCAN);

  // Fetch the pages in view that are missing, after a short pause so a
  // dragged scrollbar does not ask for every page it passes.
  useEffect(() => {
    if (!source || total === 0) return;
    const want: number[] = [];
    for (let p = Math.floor(first / pageSize); p <= Math.floor(last / pageSize); p++) {
      if (!source.pages.has(p) && !inflight.current.has(p + ':' + String(source.total))) want.push(p);
    }
    if (want.length === 0) return;
    const t = window.setTimeout(() => {
      for (const p of want) {
        const key = p + ':' + String(source.total);
        inflight.current.add(key);
        source.loader(p * pageSize, pageSize).then((res) => {
          inflight.current.delete(key);
          source.pages.set(p, res.rows);
          // Keep memory bounded: drop the pages farthest from this one.
          if (source.pages.size > MAX_PAGES_KEPT) {
            const far = Array.from(source.pages.keys()).sort((a, b) => Math.abs(b - p) - Math.abs(a - p));
            for (const k of far.slice(0, source.pages.size - MAX_PAGES_KEPT)) source.pages.delete(k);
          }
          setTick((x) => x + 1);
        }, (e) => { inflight.current.delete(key); cb.current.onError?.(e); });
      }
    }, 40);
    return () => window.clearTimeout(t);
  }, [source, first, last, pageSize, total]);

  const rowAt = (i: number): R | undefined => source?.pages.get(Math.floor(i / pageSize))?.[i % pageSize];

  const scrollToRow = useCallback((i: number) => {
    const el = scroller.current;
    if (!el) return;
    const top = headerH + i * rowHeight;
    if (top < el.scrollTop + headerH) el.scrollTop = top - headerH;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
  }, [rowHeight, headerH]);

  const onKey = (e: KeyboardEvent) => {
    if (total === 0) return;
    if ((e.target as HTMLElement).tagName === 'INPUT' && e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const pageRows = Math.max(1, Math.floor((viewH - headerH) / rowHeight) - 1);
    let next = focus;
    switch (e.key) {
      case 'ArrowDown': next = Math.min(total - 1, focus + 1); break;
      case 'ArrowUp': next = Math.max(0, focus - 1); break;
      case 'PageDown': next = Math.min(total - 1, focus + pageRows); break;
      case 'PageUp': next = Math.max(0, focus - pageRows); break;
      case 'Home': next = 0; break;
      case 'End': next = total - 1; break;
      case 'Enter': { const r = rowAt(focus); if (r && onOpen) { e.preventDefault(); onOpen(r); } return; }
      case ' ': { const r = rowAt(focus); if (r && onToggleSelect) { e.preventDefault(); onToggleSelect(rowKey(r), r); } return; }
      default: return;
    }
    e.preventDefault();
    setFocus(next);
    scrollToRow(next);
  };

  const widths = (onToggleSelect ? [SELECT_WIDTH] : []).concat(columns.map((c) => c.width));
  // Leading sticky columns (and the checkbox column before them) keep their
  // place when the table scrolls sideways.
  const stickyLeft: (number | undefined)[] = [];
  {
    let left = onToggleSelect ? SELECT_WIDTH : 0;
    let leading = true;
    for (const c of columns) {
      leading = leading && !!c.sticky;
      stickyLeft.push(leading ? left : undefined);
      left += c.width;
    }
  }
  const anySticky = stickyLeft.length > 0 && stickyLeft[0] !== undefined;
  const lastSticky = stickyLeft.reduce<number>((last, l, i) => (l !== undefined ? i : last), -1);
  const stickyClass = (ci: number) => (stickyLeft[ci] !== undefined ? ' vt-sticky' + (ci === lastSticky ? ' vt-sticky-last' : '') : '');
  const stick = (left: number | undefined) => (left === undefined ? undefined : { position: 'sticky', left: left + 'px', zIndex: 1 });
  const template = widths.map((w) => w + 'px').join(' ');
  const fullWidth = widths.reduce((a, b) => a + b, 0);

  const rows: ComponentChildren[] = [];
  for (let i = first; i <= last && source; i++) {
    const r = rowAt(i);
    const key = r ? rowKey(r) : '';
    const isSel = !!(r && selected?.has(key));
    rows.push(
      <div role="row" aria-rowindex={i + 2} aria-selected={isSel} data-testid="vrow" data-index={i} data-key={key}
        class={'vt-row' + (i === focus ? ' focused' : '') + (isSel ? ' selected' : '') + (r ? '' : ' placeholder')}
        style={{ top: i * rowHeight + 'px', height: rowHeight + 'px', gridTemplateColumns: template, width: fullWidth + 'px' }}
        onClick={() => setFocus(i)} onDblClick={() => { if (r && onOpen) onOpen(r); }}>
        {onToggleSelect && (
          <div role="gridcell" class={'vt-cell vt-select' + (anySticky ? ' vt-sticky' : '')} style={anySticky ? stick(0) : undefined}>
            {r && <input type="checkbox" tabIndex={-1} checked={isSel} aria-label="Select row" data-testid="row-select"
              onClick={(e) => { e.stopPropagation(); setFocus(i); onToggleSelect(key, r); }} />}
          </div>
        )}
        {columns.map((c, ci) => (
          <div role="gridcell" class={'vt-cell' + (c.align === 'right' ? ' num' : '') + stickyClass(ci)}
            data-col={c.id} style={stick(stickyLeft[ci])}>
            {r ? c.render(r, i) : i === first || i % 10 === 0 ? <span class="muted">…</span> : null}
          </div>
        ))}
      </div>,
    );
  }

  return (
    <div class={'vt' + (switching ? ' vt-switching' : '')} role="grid" aria-rowcount={total + 1} aria-colcount={widths.length}
      tabIndex={0} ref={scroller} data-testid={testid} style={{ height }} onKeyDown={onKey}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}>
      <div class="vt-header" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template, width: fullWidth + 'px', height: headerH + 'px' }}>
        {onToggleSelect && <div role="columnheader" class={'vt-cell vt-select' + (anySticky ? ' vt-sticky' : '')} style={anySticky ? stick(0) : undefined} />}
        {columns.map((c, ci) => {
          const active = sort && sort.id === c.id;
          const label = <>{c.header}{active ? <span class="vt-sort" aria-hidden="true">{sort!.desc ? ' ▼' : ' ▲'}</span> : null}</>;
          return (
            <div role="columnheader" class={'vt-cell' + (c.align === 'right' ? ' num' : '') + stickyClass(ci)}
              data-col={c.id} title={c.title} style={stick(stickyLeft[ci])}
              aria-sort={active ? (sort!.desc ? 'descending' : 'ascending') : undefined}>
              {onSort && c.sortable !== false
                ? <button type="button" class="vt-sort-button" data-testid="sort-header" data-col={c.id} onClick={() => onSort(c.id)}>{label}</button>
                : label}
            </div>
          );
        })}
      </div>
      <div class="vt-body" style={{ height: total * rowHeight + 'px', width: fullWidth + 'px' }}>{rows}</div>
      {source && total === 0 && <div class="vt-empty muted" data-testid="vtable-empty">{emptyText ?? 'No rows.'}</div>}
      {!source && <div class="vt-empty muted" data-testid="loading">Loading…</div>}
    </div>
  );
}
