// Being built (docs/ui.md).
import type { Route } from '../router';
import { PageHeader } from '../components/common';

export function RunsPage({ experimentId }: { route: Route; experimentId: string }) {
  void experimentId; return <PageHeader title="RunsPage" />;
}
