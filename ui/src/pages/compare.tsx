// Being built (docs/ui.md).
import type { Route } from '../router';
import { PageHeader } from '../components/common';

export function ComparePage({ route }: { route: Route }) {
  void route; return <PageHeader title="ComparePage" />;
}
