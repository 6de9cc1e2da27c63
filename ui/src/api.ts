// The only way the UI talks to the server: the public REST API (MLflow's
// /api/2.0/mlflow and Cairn's native /api/v1). No business rules here.
import { useEffect, useState } from 'preact/hooks';

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}

// A network failure (server down) is reported to the banner in app.tsx.
type DownListener = (down: boolean) => void;
const downListeners = new Set<DownListener>();
export function onServerDown(l: DownListener) { downListeners.add(l); return () => downListeners.delete(l); }
function setDown(down: boolean) { downListeners.forEach((l) => l(down)); }

export type Query = Record<string, string | number | boolean | undefined | null | (string | number)[]>;

export function qs(query?: Query): string {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, String(x))); else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

export async function request<T = any>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path + qs(opts.query), {
      method,
      headers: opts.body !== undefined ? { 'Content-Type': 'application/json' } : undefined,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
  } catch (e) {
    setDown(true);
    throw new ApiError(0, 'SERVER_UNREACHABLE', 'The Cairn server cannot be reached.');
  }
  setDown(false);
  const text = await res.text();
  let json: any = undefined;
  try { json = text ? JSON.parse(text) : {}; } catch { /* not JSON */ }
  if (!res.ok) {
    const code = json?.error_code ?? `HTTP_${res.status}`;
    const msg = json?.message ?? (text || res.statusText);
    throw new ApiError(res.status, code, msg);
  }
  return (json ?? text) as T;
}

export const get = <T = any>(path: string, query?: Query) => request<T>('GET', path, { query });
export const post = <T = any>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, { body: body ?? {}, query });
export const patch = <T = any>(path: string, body?: unknown) => request<T>('PATCH', path, { body: body ?? {} });
export const del = <T = any>(path: string, query?: Query, body?: unknown) => request<T>('DELETE', path, { query, body });

export const MLFLOW = '/api/2.0/mlflow';
export const V1 = '/api/v1';

// Loads data for a component; reload() fetches again. `deps` as for useEffect.
export interface Loaded<T> { data?: T; error?: ApiError; loading: boolean; reload: () => void; }
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ data: s.data, loading: true }));
    fn().then(
      (data) => { if (live) setState({ data, loading: false }); },
      (error) => { if (live) setState({ error: error instanceof ApiError ? error : new ApiError(0, 'ERROR', String(error)), loading: false }); },
    );
    return () => { live = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
