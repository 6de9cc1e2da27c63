// Pipeline runs (#/pipelines) and one pipeline run (#/pipelines/{run_id}):
// the DAG of its steps coloured by status, and a clicked step's details and
// log. Which step depends on which (the edges) and each step's status come
// from the server (GET /api/v1/pipeline-runs[/{run_id}], docs/ui.md).
import { useEffect, useState } from 'preact/hooks';
import { get, useLoad, V1 } from '../api';
import { href, setQuery, type Route } from '../router';
import { Async, ErrorBox, Loading, PageHeader, formatDuration, formatTime } from '../components/common';
import { Dag, type DagNode, type DagNodeKind } from '../components/dag';
import { KeyValues, LoadError, PagerBar, StatusBadge, shortId, useTokenPager, useUrlSearchText } from '../components/page_bits';

interface RunInfo { run_id: string; run_name?: string; experiment_id: string; status: string; start_time?: number; end_time?: number | null }
interface PipelineRunSummary {
  run_id: string; experiment_id: string; pipeline: string; status: string;
  start_time?: number; end_time?: number; steps: number; cached: number; failed: number;
}
interface Digested { path: string; digest: string }
export interface PipelineStep {
  name: string; run_id: string; status: string; cached: boolean; executor: string;
  attempts: number | null;  // null until the step finished
  start_time?: number; end_time?: number | null; error?: string | null; deps: Digested[]; outs: Digested[];
  log_path?: string | null;  // "logs/<file>" in the step run's artifacts, null when none
}
interface PipelineRunDetail { run: RunInfo; pipeline: string; steps: PipelineStep[]; edges: { from: string; to: string }[] }

const PAGE = 50;
const POLL_MS = 3000;  // refresh of a running pipeline run
const LOG_TAIL = 256 * 1024;  // the log panel shows at most the last 256 KiB; the download link has all

function duration(start?: number | null, end?: number | null): string {
  return start && end && end >= start ? formatDuration(end - start) : '';
}

// The colour of a step: cached and skipped are shown apart from ran-ok.
export function stepKind(s: PipelineStep): DagNodeKind {
  const st = (s.status ?? '').toUpperCase();
  if (st === 'FAILED' || st === 'KILLED') return 'failed';
  if (st === 'SKIPPED' || st === 'NOT_RUN') return 'skipped';
  if (s.cached) return 'cached';
  if (st === 'FINISHED') return 'ok';
  if (st === 'RUNNING' || st === 'SCHEDULED') return 'running';
  return 'unknown';
}
const KIND_TEXT: Record<DagNodeKind, string> = {
  ok: 'ran, ok', cached: 'cached', failed: 'failed', skipped: 'skipped', running: 'running', unknown: 'unknown',
};

// ---------------------------------------------------------------- #/pipelines

export function PipelinesPage({ route }: { route: Route }) {
  const pager = useTokenPager();
  const [text, setText, pipeline] = useUrlSearchText(route, 'pipeline', 300, () => pager.reset());
  const load = useLoad(() => get<{ pipeline_runs: PipelineRunSummary[]; next_page_token?: string }>(V1 + '/pipeline-runs', {
    pipeline: pipeline || undefined, max_results: PAGE, page_token: pager.token || undefined,
  }), [pipeline, pager.token]);
  return (
    <div class="pipelines-page">
      <PageHeader title="Pipelines" />
      <div class="toolbar">
        <input type="search" placeholder="Pipeline name" value={text} aria-label="Show runs of this pipeline"
          onInput={(e) => setText((e.target as HTMLInputElement).value)} data-testid="pipeline-filter" />
      </div>
      <Async load={load} what="pipeline runs">
        {(d) => d.pipeline_runs.length === 0 ? (
          <p class="muted" data-testid="pipelines-empty">
            {pipeline ? <>No runs of pipeline “{pipeline}”.</> : <>No pipeline runs yet. <code>cairn repro</code> in a repository with a <code>cairn.yaml</code> records one.</>}
          </p>
        ) : (
          <>
            <table class="data" data-testid="pipeline-runs">
              <thead><tr><th>Pipeline</th><th>Run</th><th>Status</th><th>Started</th><th>Duration</th>
                <th class="num">Steps</th><th class="num">Cached</th><th class="num">Failed</th></tr></thead>
              <tbody>
                {d.pipeline_runs.map((r) => (
                  <tr key={r.run_id} data-testid="pipeline-run-row" data-run-id={r.run_id}>
                    <td><a href={href(['pipelines'], { pipeline: r.pipeline })} title="Only this pipeline">{r.pipeline}</a></td>
                    <td><a href={href(['pipelines', r.run_id])} data-testid="pipeline-run-link" title={r.run_id}>{shortId(r.run_id)}</a></td>
                    <td><StatusBadge status={r.status} /></td>
                    <td>{formatTime(r.start_time)}</td>
                    <td>{duration(r.start_time, r.end_time)}</td>
                    <td class="num" data-testid="steps">{r.steps}</td>
                    <td class="num" data-testid="cached">{r.cached}</td>
                    <td class={'num' + (r.failed ? ' failed-count' : '')} data-testid="failed">{r.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <PagerBar pager={pager} nextToken={d.next_page_token} />
          </>
        )}
      </Async>
    </div>
  );
}

// ---------------------------------------------------------------- #/pipelines/{run_id}

// The artifact path of a step's log: log_path as the server gives it, under the run's logs/ folder.
function logArtifactPath(step: PipelineStep): string | null {
  if (!step.log_path) return null;
  if (step.log_path.startsWith('logs/')) return step.log_path;
  const base = step.log_path.split('/').pop();
  return base ? 'logs/' + base : null;
}

function StepLog({ step }: { step: PipelineStep }) {
  const path = logArtifactPath(step);
  const url = path ? `${V1}/runs/${encodeURIComponent(step.run_id)}/artifact?path=${encodeURIComponent(path)}` : '';
  const [state, setState] = useState<{ text?: string; size?: number; error?: string }>({});
  useEffect(() => {
    if (!url) return;
    let live = true;
    setState({});
    // A log is text whatever it holds (even if it parses as JSON): fetch it raw.
    fetch(url).then(async (r) => {
      const body = await r.text();
      if (!live) return;
      if (!r.ok) {
        let msg = body;
        try { msg = JSON.parse(body).message ?? body; } catch { /* not JSON */ }
        setState({ error: r.status === 404 ? `No log at ${path} in run ${step.run_id}.` : msg });
      } else {
        setState({ text: body.length > LOG_TAIL ? body.slice(body.length - LOG_TAIL) : body, size: body.length });
      }
    }, (e) => { if (live) setState({ error: String(e) }); });
    return () => { live = false; };
  }, [url]);
  if (!path) return <p class="muted" data-testid="step-log">This step recorded no log.</p>;
  return (
    <div class="step-log">
      <div class="toolbar">
        <strong>Log</strong> <code>{path}</code>
        <a href={url + '&download=1'} data-testid="step-log-download">Download</a>
        {state.size !== undefined && state.size > LOG_TAIL && <span class="muted">showing the last 256 KiB</span>}
      </div>
      {state.error ? <ErrorBox error={state.error} /> : state.text === undefined ? <Loading what="log" /> :
        <pre class="log" data-testid="step-log">{state.text || '(empty)'}</pre>}
    </div>
  );
}

function DigestTable({ title, rows, testid }: { title: string; rows: Digested[]; testid: string }) {
  return (
    <div data-testid={testid}>
      <h3>{title}</h3>
      {rows.length === 0 ? <p class="muted">None.</p> : (
        <table class="data">
          <thead><tr><th>Path</th><th>Digest</th></tr></thead>
          <tbody>{rows.map((r) => <tr key={r.path}><td class="wrap">{r.path}</td><td class="mono" title={r.digest}>{r.digest}</td></tr>)}</tbody>
        </table>
      )}
    </div>
  );
}

function StepPanel({ step }: { step: PipelineStep }) {
  const kind = stepKind(step);
  return (
    <section class="card step-panel" data-testid="step-panel">
      <h2>Step <span data-testid="step-name">{step.name}</span> <span class={`badge dag-badge ${kind}`} data-testid="step-kind">{KIND_TEXT[kind]}</span></h2>
      <KeyValues testid="step-attrs" rows={[
        ['Status', <StatusBadge status={step.status} testid="step-status" />],
        ['Cached', <span data-testid="step-cached">{step.cached ? 'yes: outputs restored, command not run' : 'no'}</span>],
        ['Executor', <span data-testid="step-executor">{step.executor}</span>],
        ['Attempts', <span data-testid="step-attempts">{String(step.attempts ?? '')}</span>],
        ['Started', formatTime(step.start_time)],
        ['Ended', formatTime(step.end_time)],
        ['Duration', duration(step.start_time, step.end_time)],
        ['Step run', step.run_id ? <a href={href(['runs', step.run_id])} data-testid="step-run-link">{step.run_id}</a> : <span class="muted">none</span>],
      ]} />
      {step.error && <><h3>Error</h3><pre class="step-error" data-testid="step-error">{step.error}</pre></>}
      <div class="grid2">
        <DigestTable title="Dependencies" rows={step.deps ?? []} testid="step-deps" />
        <DigestTable title="Outputs" rows={step.outs ?? []} testid="step-outs" />
      </div>
      {step.run_id && <StepLog step={step} />}
    </section>
  );
}

export function PipelineRunPage({ route, runId }: { route: Route; runId: string }) {
  const load = useLoad(() => get<PipelineRunDetail>(`${V1}/pipeline-runs/${encodeURIComponent(runId)}`), [runId]);
  const selected = route.query.get('step');
  const crumbs = [{ label: 'Pipelines', href: '#/pipelines' }];
  // A pipeline still running is polled, so steps change colour as they finish.
  const running = load.data?.run.status === 'RUNNING';
  useEffect(() => {
    if (!running || load.loading) return;
    const t = setTimeout(load.reload, POLL_MS);
    return () => clearTimeout(t);
  }, [running, load.loading, load.data]);
  if (load.error && !load.data) {
    return <><PageHeader title={`Pipeline run ${runId}`} crumbs={crumbs} />
      <LoadError error={load.error} what={`Pipeline run “${runId}”`} back={{ label: 'All pipeline runs', href: '#/pipelines' }} onRetry={load.reload} /></>;
  }
  if (!load.data) return <><PageHeader title={`Pipeline run ${shortId(runId)}`} crumbs={crumbs} /><Loading what="pipeline run" /></>;
  const d = load.data;
  const nodes: DagNode[] = d.steps.map((s) => ({ id: s.name, label: s.name, sublabel: KIND_TEXT[stepKind(s)] + ((s.attempts ?? 0) > 1 ? ` · ${s.attempts} attempts` : ''), kind: stepKind(s) }));
  const counts = new Map<DagNodeKind, number>();
  nodes.forEach((n) => counts.set(n.kind, (counts.get(n.kind) ?? 0) + 1));
  const step = d.steps.find((s) => s.name === selected);
  return (
    <div class="pipeline-run-page">
      <PageHeader title={<>{d.pipeline} <span class="muted">· {d.run.run_name || shortId(d.run.run_id)}</span></>} crumbs={crumbs}>
        <a href={href(['runs', d.run.run_id])} data-testid="pipeline-mlflow-run">Run page</a>
      </PageHeader>
      <KeyValues testid="pipeline-attrs" rows={[
        ['Status', <StatusBadge status={d.run.status} testid="pipeline-status" />],
        ['Started', formatTime(d.run.start_time)],
        ['Duration', duration(d.run.start_time, d.run.end_time)],
        ['Steps', <span data-testid="pipeline-counts">{d.steps.length} steps: {[...counts].map(([k, n]) => `${n} ${KIND_TEXT[k]}`).join(', ')}</span>],
      ]} />
      <div class="dag-legend" aria-hidden="true">
        {(['ok', 'cached', 'failed', 'skipped', 'running'] as DagNodeKind[]).map((k) => <span key={k} class={`dag-badge ${k}`}>{KIND_TEXT[k]}</span>)}
      </div>
      <Dag nodes={nodes} edges={d.edges} selected={selected} onSelect={(id) => setQuery({ step: id === selected ? null : id }, false)} />
      {selected && !step && <ErrorBox error={`This pipeline run has no step “${selected}”.`} />}
      {step ? <StepPanel key={step.name} step={step} /> : !selected && <p class="muted">Click a step to see its details and log.</p>}
    </div>
  );
}
