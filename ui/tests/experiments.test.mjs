// The experiments page: list, search, create (with the server's error),
// rename, delete and restore, paging; names with HTML are shown as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot } from './harness.mjs';

let t;
before(async () => { t = await setup(); });
after(async () => { await t?.teardown(); });

const XSS = '<img src=x onerror=window.__xss=1>';

async function names(page) {
  await page.getByTestId('experiments-table').waitFor();
  return page.getByTestId('experiment-name').allTextContents();
}

test('lists experiments, searches by name, shows HTML names as text', async () => {
  await t.api.createExperiment('alpha-vision');
  await t.api.createExperiment('beta-nlp');
  await t.api.createExperiment(XSS);
  const page = await t.page();
  await page.goto(t.url + '/#/experiments');
  await page.getByText('beta-nlp').waitFor();
  const all = await names(page);
  for (const n of ['alpha-vision', 'beta-nlp', XSS, 'Default']) assert.ok(all.includes(n), `${n} in ${all}`);
  // The HTML name is text: no img element was made from it and its handler never ran.
  assert.equal(await page.locator('.experiments-table img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  await page.getByTestId('experiment-search').fill('NLP');
  await page.waitForURL(/q=NLP/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=experiment-row]').length === 1);
  assert.deepEqual(await names(page), ['beta-nlp']);
  await page.getByTestId('experiment-search').fill('no such thing');
  await page.getByTestId('no-experiments').waitFor();
  assert.match(await page.getByTestId('no-experiments').textContent(), /no such thing/);
  // The search is in the URL: a reload keeps it.
  await page.getByTestId('experiment-search').fill('alpha');
  await page.waitForURL(/q=alpha/);
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=experiment-row]').length === 1);
  assert.deepEqual(await names(page), ['alpha-vision']);
  assert.equal(await page.getByTestId('experiment-search').inputValue(), 'alpha');
  assert.deepEqual(page.errors, []);
});

test('creates an experiment; a duplicate name shows the server error', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/experiments');
  await page.getByTestId('experiments-table').waitFor();
  await page.getByTestId('create-experiment').click();
  await page.getByTestId('create-name').fill('gamma "quoted" \'name\'');
  await page.getByTestId('create-submit').click();
  await page.getByText('gamma "quoted" \'name\'').waitFor();
  assert.ok((await names(page)).includes('gamma "quoted" \'name\''));

  await page.getByTestId('create-experiment').click();
  await page.getByTestId('create-name').fill('alpha-vision');
  await page.getByTestId('create-submit').click();
  const err = page.getByTestId('create-form').getByTestId('error');
  await err.waitFor();
  assert.match(await err.textContent(), /RESOURCE_ALREADY_EXISTS/);
  assert.match(await err.textContent(), /alpha-vision/);
  await screenshot(page, 'experiments-create-error');

  // An empty name is refused by the server, and the message says so.
  await page.getByTestId('create-name').fill('');
  await page.getByTestId('create-submit').click();
  await page.waitForFunction(() => /name/i.test(document.querySelector('[data-testid=create-form] [data-testid=error]')?.textContent ?? '')
    && !/already exists/.test(document.querySelector('[data-testid=create-form] [data-testid=error]')?.textContent ?? ''));
});

test('renames, deletes and restores', async () => {
  const id = await t.api.createExperiment('to-rename');
  const page = await t.page();
  await page.goto(t.url + '/#/experiments?q=to-rename');
  const row = page.locator(`[data-testid=experiment-row][data-id="${id}"]`);
  await row.waitFor();
  await row.getByTestId('rename').click();
  await row.getByTestId('rename-input').fill('renamed-exp');
  await row.getByTestId('rename-save').click();
  // The list reloads with the search still "to-rename": the row leaves it; the server has the new name.
  await row.waitFor({ state: 'detached' });
  const got = await t.api.get(`/api/2.0/mlflow/experiments/get?experiment_id=${id}`);
  assert.equal(got.experiment.name, 'renamed-exp');

  await page.getByTestId('experiment-search').fill('renamed-exp');
  await row.waitFor();
  assert.equal(await row.getByTestId('experiment-name').textContent(), 'renamed-exp');
  // Renaming to a taken name shows the server's error in the row.
  await row.getByTestId('rename').click();
  await row.getByTestId('rename-input').fill('beta-nlp');
  await row.getByTestId('rename-save').click();
  await row.getByTestId('error').waitFor();
  assert.match(await row.getByTestId('error').textContent(), /already exists|RESOURCE_ALREADY_EXISTS/i);
  await row.getByRole('button', { name: 'Cancel' }).click();

  await row.getByTestId('delete').click();
  await row.getByTestId('delete-confirm').click();
  await row.waitFor({ state: 'detached' });
  assert.equal((await t.api.get(`/api/2.0/mlflow/experiments/get?experiment_id=${id}`)).experiment.lifecycle_stage, 'deleted');

  await page.getByTestId('view-deleted').click();
  await page.waitForURL(/view=deleted/);
  await row.waitFor();
  assert.equal(await row.getByTestId('experiment-state').textContent(), 'deleted');
  await screenshot(page, 'experiments-deleted');
  await row.getByTestId('restore').click();
  await row.waitFor({ state: 'detached' });
  assert.equal((await t.api.get(`/api/2.0/mlflow/experiments/get?experiment_id=${id}`)).experiment.lifecycle_stage, 'active');
  await page.getByTestId('view-active').click();
  await row.waitFor();
  assert.deepEqual(page.errors, []);
});

test('pages through more experiments than one page', async () => {
  for (let i = 0; i < 55; i++) await t.api.createExperiment(`paged-${String(i).padStart(2, '0')}`);
  const page = await t.page();
  await page.goto(t.url + '/#/experiments?q=paged-');
  await page.getByText('paged-00').waitFor();
  const first = await names(page);
  assert.equal(first.length, 50);
  assert.equal(first[0], 'paged-00');
  assert.equal(first[49], 'paged-49');
  await page.getByTestId('next-page').click();
  await page.getByText('paged-54').waitFor();
  assert.deepEqual(await names(page), ['paged-50', 'paged-51', 'paged-52', 'paged-53', 'paged-54']);
  assert.equal(await page.getByTestId('next-page').isDisabled(), true);
  assert.equal(await page.getByTestId('page-number').textContent(), 'Page 2');
  await page.getByTestId('prev-page').click();
  await page.getByText('paged-00').waitFor();
  assert.equal((await names(page)).length, 50);
  await screenshot(page, 'experiments-list');
});
