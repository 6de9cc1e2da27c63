// Quoting for MLflow's search syntax (filter strings and order_by clauses),
// as the server parses it: an entity key is `backtick` quoted (or "double"
// quoted when it holds a backtick), so keys with spaces, dots or dashes
// work; a string literal is 'single' quoted, or "double" quoted when it
// holds a single quote.

export type ColumnKind = 'attributes' | 'params' | 'metrics' | 'tags';

// `metrics.\`my loss\``. Throws on a key that holds both quote kinds (the
// syntax has no escape for it).
export function quoteKey(kind: ColumnKind, key: string): string {
  if (!key.includes('`')) return `${kind}.\`${key}\``;
  if (!key.includes('"')) return `${kind}."${key}"`;
  throw new Error(`The key ${key} holds both \` and ", which the search syntax cannot quote.`);
}

export function quoteString(s: string): string {
  if (!s.includes("'")) return `'${s}'`;
  if (!s.includes('"')) return `"${s}"`;
  return `'${s.replace(/'/g, "''")}'`;
}

// A column id as used in URLs and localStorage: "metrics.loss", "params.lr",
// "tags.team", "attributes.status". The key is everything after the first dot.
export interface ColumnId { kind: ColumnKind; key: string; }

export function parseColumnId(id: string): ColumnId | null {
  const dot = id.indexOf('.');
  if (dot <= 0) return null;
  const kind = id.slice(0, dot);
  const key = id.slice(dot + 1);
  if (!key || (kind !== 'attributes' && kind !== 'params' && kind !== 'metrics' && kind !== 'tags')) return null;
  return { kind, key };
}

export function columnId(c: ColumnId): string { return `${c.kind}.${c.key}`; }

// The order_by clause for a column: attributes by their bare name
// (`start_time DESC`), the others quoted.
export function orderByClause(c: ColumnId, desc: boolean): string {
  const base = c.kind === 'attributes' ? `attributes.${c.key}` : quoteKey(c.kind, c.key);
  return `${base} ${desc ? 'DESC' : 'ASC'}`;
}
