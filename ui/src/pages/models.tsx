// The model registry: registered models (#/models), one model (#/models/{name})
// and one version (#/models/{name}/versions/{v}). Data from MLflow's registry
// API and Cairn's native /api/v1 (audit, approvals, webhooks, lineage); the
// rules (who may approve, what an approval applies) are the server's.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { get, post, useLoad, MLFLOW, V1, ApiError } from '../api';
import { href, type Route } from '../router';
import { Async, ErrorBox, Loading, PageHeader, formatTime } from '../components/common';
import { KeyValues, LoadError, PagerBar, StatusBadge, shortId, useTokenPager, useUrlSearchText } from '../components/page_bits';

// ---- API shapes (registry_json.h) ----
interface Tag { key: string; value: string }
export interface ModelVersion {
  name: string; version: string; creation_timestamp: number; last_updated_timestamp: number;
  user_id?: string; current_stage: string; description: string; source: string; run_id?: string;
  status: string; status_message?: string; tags: Tag[]; aliases: string[];
  storage_location?: string; signature?: Signature;
}
interface RegisteredModel {
  name: string; creation_timestamp: number; last_updated_timestamp: number; user_id?: string;
  description: string; latest_versions?: ModelVersion[]; tags: Tag[];
  aliases: { alias: string; version: string }[]; protected_targets?: string[];
}
interface AuditEntry {
  id: number; time: number; actor: string; action: string; entity_type: string; entity_id: string;
  model_name: string; before: unknown; after: unknown;
}
interface Approval {
  id: number; model_name: string; kind: string; target: string; version: string; archive_existing: boolean;
  status: string; requested_by: string; requested_at: number; comment: string;
  decided_by: string; decided_at: number; decision_comment: string;
}
interface Webhook { id: number; model_name: string; url: string; events: string[]; active: boolean; creation_time: number }
interface ColumnSpec { name?: string; type: string; required?: boolean; items?: unknown; properties?: unknown; values?: unknown; 'tensor-spec'?: { dtype: string; shape: number[] } }
interface ParamSpec { name: string; type: string; default: unknown; shape: number[] | null }
interface Signature { inputs: ColumnSpec[] | null; outputs: ColumnSpec[] | null; params: ParamSpec[] | null }
interface RunJson {
  info: { run_id: string; run_name?: string; experiment_id: string; status: string; start_time?: number; end_time?: number };
  data?: { tags?: Tag[] };
  inputs?: { dataset_inputs?: { dataset: { name: string; digest: string; source_type?: string; source?: string }; tags?: Tag[] }[] };
}
interface Lineage { model_version: ModelVersion; run?: RunJson; parent_runs: RunJson[]; siblings: ModelVersion[] }

const PAGE = 25;
const modelHref = (name: string) => href(['models', name]);
const versionHref = (name: string, v: string) => href(['models', name, 'versions', v]);
// A string literal of the registry filter grammar (registry_filter.h): a doubled quote is a quote.
const quote = (s: string) => "'" + s.replace(/'/g, "''") + "'";

// The aliases of a model as chips "alias → v3".
function AliasChips({ aliases, name }: { aliases: { alias: string; version: string }[]; name: string }) {
  if (aliases.length === 0) return <span class="muted">—</span>;
  return (
    <span class="chips">
      {aliases.map((a) => (
        <a class="chip" href={versionHref(name, a.version)} data-testid="alias-chip" key={a.alias}>@{a.alias} → v{a.version}</a>
      ))}
    </span>
  );
}

function VersionAliasChips({ aliases }: { aliases: string[] }) {
  if (aliases.length === 0) return <span class="muted">—</span>;
  return <span class="chips">{aliases.map((a) => <span class="chip" key={a}>@{a}</span>)}</span>;
}

function TagsTable({ tags, testid }: { tags: Tag[]; testid: string }) {
  if (tags.length === 0) return <p class="muted" data-testid={testid}>No tags.</p>;
  return (
    <table class="data" data-testid={testid}>
      <thead><tr><th>Key</th><th>Value</th></tr></thead>
      <tbody>{tags.map((t) => <tr key={t.key}><td>{t.key}</td><td class="wrap">{t.value}</td></tr>)}</tbody>
    </table>
  );
}

// ---------------------------------------------------------------- #/models

export function ModelsPage({ route }: { route: Route }) {
  const pager = useTokenPager();
  const [text, setText, q] = useUrlSearchText(route, 'q', 250, () => pager.reset());
  const load = useLoad(() => get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
    MLFLOW + '/registered-models/search', {
      filter: q ? `name ILIKE ${quote('%' + q + '%')}` : undefined,
      max_results: PAGE, page_token: pager.token || undefined, order_by: 'name ASC',
    }), [q, pager.token]);
  return (
    <div class="models-page">
      <PageHeader title="Models" />
      <div class="toolbar">
        <input type="search" placeholder="Search by name" value={text} data-testid="model-search"
          onInput={(e) => setText((e.target as HTMLInputElement).value)} aria-label="Search models by name" />
        {load.loading && load.data && <span class="muted">Searching…</span>}
      </div>
      <Async load={load} what="models">
        {(d) => {
          const models = d.registered_models ?? [];
          if (models.length === 0) {
            return <p class="muted" data-testid="models-empty">{q ? <>No model name contains “{q}”.</> : 'No registered models yet.'}</p>;
          }
          return (
            <>
              <table class="data" data-testid="models-table">
                <thead><tr><th>Name</th><th>Latest versions</th><th>Aliases</th><th>Description</th><th>Last updated</th></tr></thead>
                <tbody>
                  {models.map((m) => (
                    <tr key={m.name} data-testid="model-row">
                      <td><a href={modelHref(m.name)} data-testid="model-link">{m.name}</a></td>
                      <td>
                        {(m.latest_versions ?? []).length === 0 ? <span class="muted">—</span> : (
                          <span class="chips">
                            {(m.latest_versions ?? []).map((v) => (
                              <a class="chip" href={versionHref(m.name, v.version)} key={v.version + v.current_stage} data-testid="latest-version">
                                v{v.version}{v.current_stage && v.current_stage !== 'None' ? ' · ' + v.current_stage : ''}
                              </a>
                            ))}
                          </span>
                        )}
                      </td>
                      <td><AliasChips aliases={m.aliases} name={m.name} /></td>
                      <td class="desc" title={m.description}>{m.description}</td>
                      <td>{formatTime(m.last_updated_timestamp)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <PagerBar pager={pager} nextToken={d.next_page_token} />
            </>
          );
        }}
      </Async>
    </div>
  );
}

// ---------------------------------------------------------------- #/models/{name}

// Fields that changed between an audit entry's before and after documents.
function auditChanges(e: AuditEntry): string {
  const b = (e.before && typeof e.before === 'object' ? e.before : {}) as Record<string, unknown>;
  const a = (e.after && typeof e.after === 'object' ? e.after : {}) as Record<string, unknown>;
  if (!e.before && e.after) {
    const pick = ['version', 'kind', 'target', 'status', 'url', 'current_stage'].filter((k) => k in a);
    return pick.map((k) => `${k}=${JSON.stringify(a[k])}`).join(', ');
  }
  const skip = new Set(['last_updated_time', 'last_updated_timestamp', 'decided_at']);
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !skip.has(k));
  const out: string[] = [];
  for (const k of keys) {
    const x = JSON.stringify(b[k]); const y = JSON.stringify(a[k]);
    if (x !== y) out.push(`${k}: ${x ?? '—'} → ${y ?? '—'}`);
  }
  return out.join('; ');
}

// A paged audit table: `path` and `query` name the audit endpoint.
function AuditTable({ path, query, tick, testid }: { path: string; query: Record<string, string>; tick: number; testid: string }) {
  const pager = useTokenPager();
  const load = useLoad(() => get<{ entries: AuditEntry[]; next_page_token?: string }>(path, { ...query, max_results: 20, page_token: pager.token || undefined }),
    [path, JSON.stringify(query), pager.token, tick]);
  return (
    <Async load={load} what="audit history">
      {(d) => d.entries.length === 0 ? <p class="muted" data-testid={testid}>No audit entries.</p> : (
        <>
          <table class="data" data-testid={testid}>
            <thead><tr><th>Time</th><th>Actor</th><th>Action</th><th>Entity</th><th>Change</th></tr></thead>
            <tbody>
              {d.entries.map((e) => (
                <tr key={e.id} data-testid="audit-row">
                  <td>{formatTime(e.time)}</td><td>{e.actor}</td><td><code>{e.action}</code></td>
                  <td>{e.entity_type} {e.entity_id}</td><td class="wrap">{auditChanges(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <PagerBar pager={pager} nextToken={d.next_page_token} testid={testid + '-pager'} />
        </>
      )}
    </Async>
  );
}

function describeApproval(a: Approval): string {
  if (a.kind === 'alias') return `set alias @${a.target} to version ${a.version}`;
  if (a.kind === 'stage') return `move version ${a.version} to ${a.target}${a.archive_existing ? ' (archiving the others there)' : ''}`;
  if (a.kind === 'rollback') return `roll alias @${a.target} back to version ${a.version}`;
  return `${a.kind} ${a.target} → version ${a.version}`;
}

function ApprovalsCard({ name, onDecided, tick }: { name: string; onDecided: () => void; tick: number }) {
  const load = useLoad(() => get<{ approvals: Approval[] }>(V1 + '/approvals', { model: name, status: 'pending' }), [name, tick]);
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [comments, setComments] = useState<Record<number, string>>({});
  async function decide(a: Approval, verdict: 'approve' | 'reject') {
    setBusy(a.id); setError(null);
    try {
      await post(`${V1}/approvals/${a.id}/${verdict}`, { comment: comments[a.id] ?? '' });
      onDecided();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'ERROR', String(e)));
    } finally { setBusy(null); }
  }
  return (
    <section class="card" data-testid="approvals">
      <h2>Pending approvals</h2>
      {error && <ErrorBox error={error} />}
      <Async load={load} what="approvals">
        {(d) => d.approvals.length === 0 ? <p class="muted" data-testid="no-approvals">No pending approvals.</p> : (
          <table class="data">
            <thead><tr><th>#</th><th>Change</th><th>Requested by</th><th>When</th><th>Comment</th><th>Decision</th></tr></thead>
            <tbody>
              {d.approvals.map((a) => (
                <tr key={a.id} data-testid="approval-row" data-approval-id={a.id}>
                  <td>{a.id}</td>
                  <td class="wrap">{describeApproval(a)}</td>
                  <td>{a.requested_by}</td>
                  <td>{formatTime(a.requested_at)}</td>
                  <td class="wrap">{a.comment}</td>
                  <td><div class="actions">
                    <input type="text" placeholder="comment" aria-label={`Comment on request ${a.id}`} value={comments[a.id] ?? ''}
                      onInput={(e) => setComments({ ...comments, [a.id]: (e.target as HTMLInputElement).value })} data-testid="approval-comment" />
                    <button type="button" class="primary" disabled={busy !== null} onClick={() => decide(a, 'approve')} data-testid="approve">Approve</button>
                    <button type="button" class="danger" disabled={busy !== null} onClick={() => decide(a, 'reject')} data-testid="reject">Reject</button>
                  </div></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Async>
    </section>
  );
}

interface Delivery {
  id: number; webhook_id: number; event: string; payload: unknown; status: string; attempts: number;
  next_attempt_at: number; last_http_status: number; last_error: string; created_at: number; delivered_at: number;
}

function Deliveries({ id, tick }: { id: number; tick: number }) {
  const load = useLoad(() => get<{ deliveries: Delivery[] }>(`${V1}/webhooks/${id}/deliveries`, { max_results: 20 }), [id, tick]);
  return (
    <Async load={load} what="deliveries">
      {(d) => d.deliveries.length === 0 ? <p class="muted" data-testid="no-deliveries">No deliveries yet.</p> : (
        <table class="data" data-testid="deliveries">
          <thead><tr><th>#</th><th>Event</th><th>Status</th><th class="num">Attempts</th><th>HTTP</th><th>Last error</th><th>Created</th><th>Delivered</th></tr></thead>
          <tbody>
            {d.deliveries.map((x) => (
              <tr key={x.id} data-testid="delivery-row">
                <td>{x.id}</td><td><code>{x.event}</code></td><td><StatusBadge status={x.status} /></td>
                <td class="num">{x.attempts}</td><td>{x.last_http_status || ''}</td>
                <td class="wrap">{x.last_error}</td><td>{formatTime(x.created_at)}</td><td>{formatTime(x.delivered_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Async>
  );
}

function WebhooksCard({ name, tick }: { name: string; tick: number }) {
  const load = useLoad(() => get<{ webhooks: Webhook[] }>(V1 + '/webhooks', { model: name }), [name]);
  const [open, setOpen] = useState<number | null>(null);
  return (
    <section class="card" data-testid="webhooks">
      <h2>Webhooks</h2>
      <Async load={load} what="webhooks">
        {(d) => d.webhooks.length === 0 ? <p class="muted">No webhooks.</p> : (
          <table class="data">
            <thead><tr><th>#</th><th>URL</th><th>Events</th><th>Active</th><th>Created</th><th></th></tr></thead>
            <tbody>
              {d.webhooks.map((h) => (
                <Fragment key={h.id}>
                  <tr data-testid="webhook-row" data-webhook-id={h.id}>
                    <td>{h.id}</td><td class="wrap">{h.url}</td>
                    <td class="wrap">{h.events.length ? h.events.join(', ') : <span class="muted">all events</span>}</td>
                    <td>{h.active ? 'yes' : 'no'}</td><td>{formatTime(h.creation_time)}</td>
                    <td><button type="button" class="link-button" aria-expanded={open === h.id} data-testid="show-deliveries"
                      onClick={() => setOpen(open === h.id ? null : h.id)}>{open === h.id ? 'hide deliveries' : 'deliveries'}</button></td>
                  </tr>
                  {open === h.id && <tr><td colSpan={6} class="nested"><Deliveries id={h.id} tick={tick} /></td></tr>}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </Async>
    </section>
  );
}

function VersionsTable({ name, tick }: { name: string; tick: number }) {
  const pager = useTokenPager();
  const load = useLoad(() => get<{ model_versions?: ModelVersion[]; next_page_token?: string }>(MLFLOW + '/model-versions/search', {
    filter: `name=${quote(name)}`, order_by: 'version_number DESC', max_results: 50, page_token: pager.token || undefined,
  }), [name, pager.token, tick]);
  return (
    <Async load={load} what="versions">
      {(d) => {
        const vs = d.model_versions ?? [];
        if (vs.length === 0) return <p class="muted" data-testid="versions-empty">This model has no versions yet.</p>;
        return (
          <>
            <table class="data" data-testid="versions-table">
              <thead><tr><th>Version</th><th>Stage</th><th>Aliases</th><th>Status</th><th>Source run</th><th>Created</th><th>Description</th></tr></thead>
              <tbody>
                {vs.map((v) => (
                  <tr key={v.version} data-testid="version-row" data-version={v.version}>
                    <td><a href={versionHref(name, v.version)} data-testid="version-link">Version {v.version}</a></td>
                    <td data-testid="version-stage">{v.current_stage}</td>
                    <td data-testid="version-aliases"><VersionAliasChips aliases={v.aliases} /></td>
                    <td><StatusBadge status={v.status} /></td>
                    <td>{v.run_id ? <a href={href(['runs', v.run_id])} title={v.run_id}>{shortId(v.run_id)}</a> : <span class="muted">—</span>}</td>
                    <td>{formatTime(v.creation_timestamp)}</td>
                    <td class="desc" title={v.description}>{v.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <PagerBar pager={pager} nextToken={d.next_page_token} testid="versions-pager" />
          </>
        );
      }}
    </Async>
  );
}

export function ModelPage({ name }: { route: Route; name: string }) {
  // One counter refreshes everything an approval decision can change.
  const [tick, setTick] = useState(0);
  const load = useLoad(() => get<{ registered_model: RegisteredModel }>(MLFLOW + '/registered-models/get', { name }), [name, tick]);
  const crumbs = [{ label: 'Models', href: '#/models' }];
  if (load.error && !load.data) {
    return <><PageHeader title={name} crumbs={crumbs} />
      <LoadError error={load.error} what={`Registered model “${name}”`} back={{ label: 'All models', href: '#/models' }} onRetry={load.reload} /></>;
  }
  if (!load.data) return <><PageHeader title={name} crumbs={crumbs} /><Loading what="model" /></>;
  const m = load.data.registered_model;
  return (
    <div class="model-page">
      <PageHeader title={m.name} crumbs={crumbs} />
      <KeyValues testid="model-attrs" rows={[
        ['Created', formatTime(m.creation_timestamp)],
        ['Last updated', formatTime(m.last_updated_timestamp)],
        ['Created by', m.user_id ?? ''],
        ['Aliases', <AliasChips aliases={m.aliases} name={m.name} />],
        ['Protected targets', (m.protected_targets ?? []).length ? (m.protected_targets ?? []).join(', ') : <span class="muted">none</span>],
      ]} />
      <section class="section">
        <h2>Description</h2>
        {m.description ? <p class="description" data-testid="model-description">{m.description}</p> : <p class="muted" data-testid="model-description">No description.</p>}
      </section>
      <section class="section">
        <h2>Versions</h2>
        <VersionsTable name={m.name} tick={tick} />
      </section>
      <ApprovalsCard name={m.name} tick={tick} onDecided={() => setTick((t) => t + 1)} />
      <WebhooksCard name={m.name} tick={tick} />
      <section class="section">
        <h2>Tags</h2>
        <TagsTable tags={m.tags} testid="model-tags" />
      </section>
      <section class="section">
        <h2>Audit history</h2>
        <AuditTable path={`${V1}/models/${encodeURIComponent(m.name)}/audit`} query={{}} tick={tick} testid="model-audit" />
      </section>
    </div>
  );
}

// ---------------------------------------------------------------- #/models/{name}/versions/{v}

function typeText(c: ColumnSpec): string {
  if (c.type === 'tensor' && c['tensor-spec']) return `tensor ${c['tensor-spec'].dtype} [${c['tensor-spec'].shape.join(', ')}]`;
  if (c.type === 'array' || c.type === 'object' || c.type === 'map') {
    const { name: _n, required: _r, ...rest } = c;
    return JSON.stringify(rest);
  }
  return c.type;
}

function SchemaTable({ title, schema, testid }: { title: string; schema: ColumnSpec[] | null; testid: string }) {
  return (
    <div class="schema" data-testid={testid}>
      <h3>{title}</h3>
      {schema === null || schema.length === 0 ? <p class="muted">Not specified.</p> : (
        <table class="data">
          <thead><tr><th>#</th><th>Name</th><th>Type</th><th>Required</th></tr></thead>
          <tbody>
            {schema.map((c, i) => (
              <tr key={i} data-testid="schema-row">
                <td>{i}</td><td>{c.name ?? <span class="muted">(unnamed)</span>}</td>
                <td><code>{typeText(c)}</code></td><td>{c.required === false ? 'optional' : 'required'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function SignatureSection({ sig }: { sig?: Signature }) {
  if (!sig) return <p class="muted" data-testid="no-signature">This version has no signature (its MLmodel declares none).</p>;
  return (
    <div class="grid2" data-testid="signature">
      <SchemaTable title="Inputs" schema={sig.inputs} testid="signature-inputs" />
      <SchemaTable title="Outputs" schema={sig.outputs} testid="signature-outputs" />
      {sig.params && sig.params.length > 0 && (
        <div class="schema" data-testid="signature-params">
          <h3>Parameters</h3>
          <table class="data">
            <thead><tr><th>Name</th><th>Type</th><th>Default</th><th>Shape</th></tr></thead>
            <tbody>
              {sig.params.map((p) => (
                <tr key={p.name}><td>{p.name}</td><td><code>{p.type}</code></td><td><code>{JSON.stringify(p.default)}</code></td>
                  <td>{p.shape ? `[${p.shape.join(', ')}]` : 'scalar'}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function runName(r: RunJson): string { return r.info.run_name || r.info.run_id; }

// datasets -> run (with its parents) -> this version (and its siblings).
function LineageView({ l }: { l: Lineage }) {
  const v = l.model_version;
  const datasets = l.run?.inputs?.dataset_inputs ?? [];
  return (
    <div class="lineage" data-testid="lineage">
      <div class="lineage-col">
        <div class="lineage-label">Datasets</div>
        {datasets.length === 0 ? <div class="lineage-node muted">{l.run ? 'No dataset inputs logged' : '—'}</div> :
          datasets.map((d, i) => {
            const ctx = d.tags?.find((t) => t.key === 'mlflow.data.context')?.value;
            return (
              <div class="lineage-node" key={i} data-testid="lineage-dataset">
                <strong>{d.dataset.name}</strong>{ctx && <span class="badge">{ctx}</span>}
                <div class="muted mono" title={d.dataset.digest}>{d.dataset.digest}</div>
                {d.dataset.source && <div class="muted wrap">{d.dataset.source}</div>}
              </div>
            );
          })}
      </div>
      <div class="lineage-arrow" aria-hidden="true">→</div>
      <div class="lineage-col">
        <div class="lineage-label">Run</div>
        {l.run ? (
          <>
            {l.parent_runs.slice().reverse().map((p) => (
              <div class="lineage-node parent" key={p.info.run_id} data-testid="lineage-parent">
                <span class="muted">parent </span><a href={href(['runs', p.info.run_id])}>{runName(p)}</a>
              </div>
            ))}
            <div class="lineage-node" data-testid="lineage-run">
              <a href={href(['runs', l.run.info.run_id])} data-testid="lineage-run-link">{runName(l.run)}</a>
              <div><StatusBadge status={l.run.info.status} /> <span class="muted">experiment {l.run.info.experiment_id}</span></div>
              <div class="muted mono">{l.run.info.run_id}</div>
            </div>
          </>
        ) : <div class="lineage-node muted" data-testid="lineage-run">{v.run_id ? `Run ${v.run_id} no longer exists` : 'Not created from a run'}</div>}
      </div>
      <div class="lineage-arrow" aria-hidden="true">→</div>
      <div class="lineage-col">
        <div class="lineage-label">Model version</div>
        <div class="lineage-node current" data-testid="lineage-version">
          <strong>{v.name}</strong> v{v.version}
          <div><VersionAliasChips aliases={v.aliases} /> {v.current_stage !== 'None' && <span class="badge">{v.current_stage}</span>}</div>
        </div>
        {l.siblings.map((s) => (
          <div class="lineage-node sibling" key={s.name + s.version} data-testid="lineage-sibling">
            <span class="muted">same run: </span><a href={versionHref(s.name, s.version)}>{s.name} v{s.version}</a>
          </div>
        ))}
      </div>
    </div>
  );
}

export function ModelVersionPage({ name, version }: { route: Route; name: string; version: string }) {
  const load = useLoad(() => get<Lineage>(`${V1}/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/lineage`), [name, version]);
  const crumbs = [{ label: 'Models', href: '#/models' }, { label: name, href: modelHref(name) }];
  const title = `${name} · version ${version}`;
  if (load.error && !load.data) {
    const what = load.error.message.includes('Registered Model') ? `Registered model “${name}”` : `Version ${version} of model “${name}”`;
    return <><PageHeader title={title} crumbs={crumbs} />
      <LoadError error={load.error} what={what} back={{ label: `Back to ${name}`, href: modelHref(name) }} onRetry={load.reload} /></>;
  }
  if (!load.data) return <><PageHeader title={title} crumbs={crumbs} /><Loading what="version" /></>;
  const l = load.data;
  const v = l.model_version;
  return (
    <div class="model-version-page">
      <PageHeader title={title} crumbs={crumbs} />
      <KeyValues testid="version-attrs" rows={[
        ['Stage', <span data-testid="version-stage">{v.current_stage}</span>],
        ['Aliases', <span data-testid="version-aliases"><VersionAliasChips aliases={v.aliases} /></span>],
        ['Status', <><StatusBadge status={v.status} />{v.status_message ? ' ' + v.status_message : ''}</>],
        ['Source run', v.run_id ? <a href={href(['runs', v.run_id])} data-testid="source-run">{l.run ? runName(l.run) : v.run_id}</a> : <span class="muted">none</span>],
        ['Source', <code class="wrap">{v.source}</code>],
        ['Storage location', v.storage_location ? <code class="wrap">{v.storage_location}</code> : ''],
        ['Created', formatTime(v.creation_timestamp) + (v.user_id ? ' by ' + v.user_id : '')],
        ['Last updated', formatTime(v.last_updated_timestamp)],
      ]} />
      {v.description && <section class="section"><h2>Description</h2><p class="description" data-testid="version-description">{v.description}</p></section>}
      <section class="section"><h2>Signature</h2><SignatureSection sig={v.signature} /></section>
      <section class="section"><h2>Lineage</h2><LineageView l={l} /></section>
      <section class="section"><h2>Tags</h2><TagsTable tags={v.tags} testid="version-tags" /></section>
      <section class="section">
        <h2>Audit history</h2>
        <p class="muted small">Changes to this version; alias moves are in the <a href={modelHref(v.name)}>model's audit history</a>.</p>
        <AuditTable path={`${V1}/audit`} query={{ entity_type: 'model_version', entity_id: `${v.name}/${v.version}` }} tick={0} testid="version-audit" />
      </section>
    </div>
  );
}
