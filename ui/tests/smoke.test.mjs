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
