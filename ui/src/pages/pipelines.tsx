// Being built (docs/ui.md).
import type { Route } from '../router';
import { PageHeader } from '../components/common';

export function PipelinesPage({ route }: { route: Route }) { void route; return <PageHeader title="Pipelines" />; }
export function PipelineRunPage({ runId }: { route: Route; runId: string }) { return <PageHeader title={runId} />; }
