// Being built (docs/ui.md).
import type { Route } from '../router';
import { PageHeader } from '../components/common';

export function MonitorsPage({ route }: { route: Route }) { void route; return <PageHeader title="Monitoring" />; }
export function MonitorPage({ name }: { route: Route; name: string }) { return <PageHeader title={name} />; }
