// Being built (docs/ui.md).
import type { Route } from '../router';
import { PageHeader } from '../components/common';

export function RunPage({ runId }: { route: Route; runId: string }) {
  void runId; return <PageHeader title="RunPage" />;
}
