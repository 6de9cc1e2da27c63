// The shell: the UI is served, navigation works, theme toggles, unknown pages say so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot } from './harness.mjs';

let t;
before(async () => { t = await setup(); });
after(async () => { await t?.teardown(); });

test('root redirects to experiments and the nav is there', async () => {
  const page = await t.page();
  await page.goto(t.url + '/');
  await page.waitForURL(/#\/experiments$/);
  assert.equal(await page.getByTestId('nav-models').textContent(), 'Models');
  assert.deepEqual(page.errors, []);
});

test('unknown page says so', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/no/such/page');
  await page.getByTestId('not-found').waitFor();
  assert.match(await page.getByTestId('not-found').textContent(), /no\/such\/page/);
});

test('theme toggles and is remembered', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/experiments');
  const before = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.getByTestId('theme-toggle').click();
  await page.waitForFunction((b) => document.documentElement.dataset.theme !== b, before);
  const afterToggle = await page.evaluate(() => document.documentElement.dataset.theme);
  assert.notEqual(afterToggle, before);
  await page.reload();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), afterToggle);
  await screenshot(page, 'shell-theme');
});

test('back and forward move between pages, and each page is a deep link', async () => {
  const exp = await t.api.createExperiment('nav-exp');
  const run = await t.api.createRun(exp, { name: 'nav-run' });
  const page = await t.page();
  await page.goto(t.url + '/#/experiments');
  await page.getByTestId('experiments-table').getByText('nav-exp').click();
  await page.waitForURL(new RegExp(`#/experiments/${exp}`));
  await page.getByTestId('vrow').first().getByText('nav-run').click();
  await page.waitForURL(new RegExp(`#/runs/${run}`));
  assert.equal(await page.getByTestId('run-name').textContent(), 'nav-run');
  await page.goBack();
  await page.waitForURL(new RegExp(`#/experiments/${exp}$`));
  await page.getByTestId('vrow').first().getByText('nav-run').waitFor();
  await page.goBack();
  await page.waitForURL(/#\/experiments$/);
  await page.getByTestId('experiments-table').getByText('nav-exp').waitFor();
  await page.goForward();
  await page.waitForURL(new RegExp(`#/experiments/${exp}$`));
  // A deep link opened in a fresh page shows the same run.
  const fresh = await t.page();
  await fresh.goto(`${t.url}/#/runs/${run}`);
  assert.equal(await fresh.getByTestId('run-name').textContent(), 'nav-run');
  assert.deepEqual(page.errors, []);
});

test('a server that goes away shows a banner, and Retry recovers when it is back', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/experiments');
  await page.getByTestId('experiments-table').waitFor();
  assert.equal(await page.getByTestId('server-down').count(), 0);
  await t.server.kill();
  await page.getByTestId('nav-models').click();
  await page.getByTestId('server-down').waitFor();
  assert.match(await page.getByTestId('server-down').textContent(), /cannot be reached/);
  // Retry while still down keeps the banner.
  await page.getByTestId('server-down').getByRole('button', { name: 'Retry' }).click();
  await page.waitForTimeout(300);
  assert.equal(await page.getByTestId('server-down').count(), 1);
  await t.server.start();
  await page.getByTestId('server-down').getByRole('button', { name: 'Retry' }).click();
  await page.getByTestId('server-down').waitFor({ state: 'detached' });
  await screenshot(page, 'shell-server-back');
});
