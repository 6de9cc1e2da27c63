// Small shared pieces. Everything user-provided is rendered as text (JSX
// escapes it); never use dangerouslySetInnerHTML.
import type { ComponentChildren } from 'preact';
import type { ApiError, Loaded } from '../api';

export function Loading({ what }: { what?: string }) {
  return <div class="loading" data-testid="loading">Loading{what ? ' ' + what : ''}…</div>;
}

export function ErrorBox({ error, onRetry }: { error: ApiError | Error | string; onRetry?: () => void }) {
  const msg = typeof error === 'string' ? error : error.message;
  const code = typeof error === 'object' && 'code' in error ? (error as ApiError).code : undefined;
  return (
    <div class="error-box" role="alert" data-testid="error">
      {code && <strong>{code}: </strong>}
      <span>{msg}</span>
      {onRetry && <button type="button" onClick={onRetry}>Retry</button>}
    </div>
  );
}

// Renders a Loaded<T>: spinner, error with retry, or children(data).
export function Async<T>({ load, children, what }: { load: Loaded<T>; what?: string; children: (data: T) => ComponentChildren }) {
  if (load.error && load.data === undefined) return <ErrorBox error={load.error} onRetry={load.reload} />;
  if (load.data === undefined) return <Loading what={what} />;
  return <>{children(load.data)}</>;
}

export function PageHeader({ title, crumbs, children }: { title: ComponentChildren; crumbs?: { label: string; href: string }[]; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      {crumbs && crumbs.length > 0 && (
        <nav class="crumbs" aria-label="breadcrumb">
          {crumbs.map((c) => (<><a href={c.href}>{c.label}</a><span class="sep">/</span></>))}
        </nav>
      )}
      <div class="page-title-row">
        <h1 data-testid="page-title">{title}</h1>
        <div class="page-actions">{children}</div>
      </div>
    </header>
  );
}

export function formatTime(ms?: number | string | null): string {
  if (ms === undefined || ms === null || ms === '') return '';
  const n = typeof ms === 'string' ? Number(ms) : ms;
  if (!Number.isFinite(n) || n <= 0) return '';
  const d = new Date(n);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatDuration(ms?: number | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-4 || a >= 1e7) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
  }
  return String(v);
}

export function formatBytes(n?: number | string | null): string {
  const b = Number(n ?? 0);
  if (!Number.isFinite(b)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0; let x = b;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return i === 0 ? `${b} B` : `${x.toFixed(1)} ${units[i]}`;
}
