// Browser-test harness: a live `cairn server` on a fresh data folder, Debian's
// Chromium driven by playwright-core (never a downloaded browser), REST
// helpers to seed data, and screenshots in $CAIRN_UI_TEST_OUT (default
// ui/test-output/). Each *.test.mjs file uses node:test and its own server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const UI_DIR = path.resolve(here, '..');
export const REPO = path.resolve(UI_DIR, '..');
export const CAIRN_BIN = process.env.CAIRN_BIN || path.join(REPO, 'build', 'cairn');
export const OUT_DIR = process.env.CAIRN_UI_TEST_OUT || path.join(UI_DIR, 'test-output');
export const CHROMIUM = process.env.CAIRN_CHROMIUM || '/usr/bin/chromium';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitHealthy(url, child, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`cairn server exited with ${child.exitCode}`);
    try { const r = await fetch(url + '/health'); if (r.ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`cairn server did not answer /health at ${url} within ${ms} ms`);
}

function uiDirArgs(dir) {
  return dir ? ['--ui-dir', dir] : [];
}

// Starts `cairn server` on a free port with its own SQLite store and artifacts.
// opts.args: extra flags; opts.uiDir: a built UI folder to serve with --ui-dir (default
// $CAIRN_UI_TEST_DIST; neither: the UI compiled into the binary, as users get it, which also
// keeps tests steady while someone rebuilds ui/dist).
export async function startServer(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-test-'));
  const port = await freePort();
  const args = ['server', '--host', '127.0.0.1', '--port', String(port),
    '--backend-store-uri', `sqlite:///${dir}/cairn.db`,
    '--artifacts-destination', `file://${dir}/artifacts`,
    ...uiDirArgs(opts.uiDir ?? process.env.CAIRN_UI_TEST_DIST), ...(opts.args ?? [])];
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const url = `http://127.0.0.1:${port}`;
  const server = { url, port, dir, child: null, api: makeApi(url) };
  const exited = (c) => new Promise((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r();
    const t = setTimeout(() => { c.kill('SIGKILL'); }, 5000);
    c.on('exit', () => { clearTimeout(t); r(); });
  });
  // (Re)starts the process on the same port and data folder.
  server.start = async () => {
    const child = spawn(CAIRN_BIN, args, { stdio: ['ignore', log, log], cwd: dir });
    server.child = child;
    try { await waitHealthy(url, child); } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`${e.message}\n--- server.log ---\n${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
    }
  };
  // Stops the process (SIGTERM, then SIGKILL after 5 s) and keeps the data folder.
  server.kill = async () => {
    if (server.child && server.child.exitCode === null) { server.child.kill('SIGTERM'); await exited(server.child); }
  };
  server.stop = async () => {
    await server.kill();
    if (!process.env.CAIRN_UI_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  };
  await server.start();
  return server;
}

// REST helpers over MLflow's API and Cairn's /api/v1. Throw on non-2xx with the server's message.
export function makeApi(url) {
  async function call(method, p, body) {
    const r = await fetch(url + p, {
      method, headers: body !== undefined ? { 'Content-Type': 'application/json' } : undefined,
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p} -> ${r.status}: ${text}`);
    return text ? JSON.parse(text) : {};
  }
  const M = '/api/2.0/mlflow';
  const api = {
    call,
    get: (p) => call('GET', p),
    post: (p, body) => call('POST', p, body ?? {}),
    async createExperiment(name, tags) {
      return (await call('POST', `${M}/experiments/create`, { name, tags })).experiment_id;
    },
    // Returns the run id. opts: {name, start_time, tags: {k: v}, parent}
    async createRun(experimentId, opts = {}) {
      const tags = Object.entries(opts.tags ?? {}).map(([key, value]) => ({ key, value: String(value) }));
      if (opts.parent) tags.push({ key: 'mlflow.parentRunId', value: opts.parent });
      const r = await call('POST', `${M}/runs/create`, {
        experiment_id: experimentId, run_name: opts.name, start_time: opts.start_time ?? Date.now(), tags,
      });
      return r.run.info.run_id;
    },
    // data: {params: {k: v}, metrics: {k: number | number[] (one per step)}, tags: {k: v}}
    async logBatch(runId, data = {}) {
      const now = Date.now();
      const metrics = [];
      for (const [key, v] of Object.entries(data.metrics ?? {})) {
        const vals = Array.isArray(v) ? v : [v];
        vals.forEach((value, step) => metrics.push({ key, value, step, timestamp: now + step }));
      }
      for (let i = 0; i < metrics.length || i === 0; i += 1000) {
        await call('POST', `${M}/runs/log-batch`, {
          run_id: runId, metrics: metrics.slice(i, i + 1000),
          params: i === 0 ? Object.entries(data.params ?? {}).map(([key, value]) => ({ key, value: String(value) })) : [],
          tags: i === 0 ? Object.entries(data.tags ?? {}).map(([key, value]) => ({ key, value: String(value) })) : [],
        });
        if (metrics.length === 0) break;
      }
    },
    async endRun(runId, status = 'FINISHED', endTime = Date.now()) {
      await call('POST', `${M}/runs/update`, { run_id: runId, status, end_time: endTime });
    },
    // Uploads an artifact through the artifact proxy, under the run's artifact root.
    async logArtifact(runId, artifactPath, content) {
      const run = (await call('GET', `${M}/runs/get?run_id=${runId}`)).run;
      const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\/?/, '').replace(/^\/+/, '');
      const r = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${root}/${artifactPath}`, { method: 'PUT', body: content });
      if (!r.ok) throw new Error(`upload ${artifactPath} -> ${r.status}: ${await r.text()}`);
    },
  };
  return api;
}

// Launches Debian's Chromium, headless, with a throwaway profile.
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (scripts/setup.sh does with CAIRN_SETUP_TEST=1)`);
  return chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// A page at a laptop's size that records uncaught errors and failed console errors in page.errors.
export async function newPage(browser, opts = {}) {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1440, height: 900 }, colorScheme: opts.colorScheme ?? 'light' });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => { page.dialogs = (page.dialogs ?? []).concat(d.message()); d.dismiss().catch(() => {}); });
  return page;
}

export async function screenshot(page, name) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

// Everything a test file needs, started once per file:
//   const t = await setup(); ... t.url, t.api, t.browser, await t.page(); ... await t.teardown();
export async function setup(opts = {}) {
  const server = await startServer(opts);
  let browser;
  try { browser = await launchBrowser(); } catch (e) { await server.stop(); throw e; }
  const pages = [];
  return {
    ...server, server, browser,
    async page(pageOpts) { const p = await newPage(browser, pageOpts); pages.push(p); return p; },
    async teardown() { await browser.close().catch(() => {}); await server.stop(); },
  };
}
