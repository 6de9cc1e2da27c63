// Being built (docs/ui.md).
import type { Route } from '../router';
import { PageHeader } from '../components/common';

export function ModelsPage({ route }: { route: Route }) { void route; return <PageHeader title="Models" />; }
export function ModelPage({ name }: { route: Route; name: string }) { return <PageHeader title={name} />; }
export function ModelVersionPage({ name, version }: { route: Route; name: string; version: string }) { return <PageHeader title={`${name} v${version}`} />; }
