// The shell: top navigation, theme, the server-down banner and the route table.
import { useEffect, useState } from 'preact/hooks';
import { onServerDown, get } from './api';
import { useRoute, navigate, type Route } from './router';
import { ExperimentsPage } from './pages/experiments';
import { RunsPage } from './pages/runs';
import { RunPage } from './pages/run';
import { ComparePage } from './pages/compare';
import { ModelsPage, ModelPage, ModelVersionPage } from './pages/models';
import { PipelinesPage, PipelineRunPage } from './pages/pipelines';
import { MonitorsPage, MonitorPage } from './pages/monitoring';
import { DeploymentsPage } from './pages/deployments';

type Theme = 'light' | 'dark';
function initialTheme(): Theme {
  const saved = localStorage.getItem('cairn.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function Page({ route }: { route: Route }) {
  const [a, b, c, d] = route.parts;
  if (!a) { navigate('#/experiments', true); return null; }
  if (a === 'experiments' && !b) return <ExperimentsPage route={route} />;
  if (a === 'experiments' && b && !c) return <RunsPage route={route} experimentId={b} />;
  if (a === 'runs' && b && !c) return <RunPage route={route} runId={b} />;
  if (a === 'compare' && !b) return <ComparePage route={route} />;
  if (a === 'models' && !b) return <ModelsPage route={route} />;
  if (a === 'models' && b && !c) return <ModelPage route={route} name={b} />;
  if (a === 'models' && b && c === 'versions' && d) return <ModelVersionPage route={route} name={b} version={d} />;
  if (a === 'pipelines' && !b) return <PipelinesPage route={route} />;
  if (a === 'pipelines' && b && !c) return <PipelineRunPage route={route} runId={b} />;
  if (a === 'monitoring' && !b) return <MonitorsPage route={route} />;
  if (a === 'monitoring' && b && !c) return <MonitorPage route={route} name={b} />;
  if (a === 'deployments' && !b) return <DeploymentsPage route={route} />;
  return (
    <div class="not-found" data-testid="not-found">
      <h1>Page not found</h1>
      <p>There is no page at <code>{route.path}</code>. <a href="#/experiments">Go to experiments</a>.</p>
    </div>
  );
}

const NAV: { label: string; href: string; section: string }[] = [
  { label: 'Experiments', href: '#/experiments', section: 'experiments' },
  { label: 'Models', href: '#/models', section: 'models' },
  { label: 'Pipelines', href: '#/pipelines', section: 'pipelines' },
  { label: 'Monitoring', href: '#/monitoring', section: 'monitoring' },
  { label: 'Deployments', href: '#/deployments', section: 'deployments' },
];

export function App() {
  const route = useRoute();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [down, setDown] = useState(false);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('cairn.theme', theme);
  }, [theme]);
  useEffect(() => { const off = onServerDown(setDown); return () => { off(); }; }, []);
  const section = route.parts[0] === 'runs' || route.parts[0] === 'compare' ? 'experiments' : route.parts[0];
  return (
    <div class="app">
      <nav class="topbar" aria-label="main">
        <a class="brand" href="#/experiments">Cairn</a>
        {NAV.map((n) => (
          <a class={'nav-link' + (section === n.section ? ' active' : '')} href={n.href} data-testid={'nav-' + n.section}>{n.label}</a>
        ))}
        <span class="spacer" />
        <button type="button" class="theme-toggle" data-testid="theme-toggle" title="Switch theme"
          onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}>
          {theme === 'dark' ? 'Light theme' : 'Dark theme'}
        </button>
      </nav>
      {down && (
        <div class="banner banner-error" role="alert" data-testid="server-down">
          The Cairn server cannot be reached. Check that <code>cairn server</code> is running.
          <button type="button" onClick={() => get('/health').then(() => { setDown(false); window.dispatchEvent(new HashChangeEvent('hashchange')); }, () => undefined)}>Retry</button>
        </div>
      )}
      <main class="content"><Page key={route.parts.slice(0, 2).join('/')} route={route} /></main>
    </div>
  );
}
