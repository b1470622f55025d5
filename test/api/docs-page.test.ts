// /docs in a real browser: Debian's Chromium, headless, driven by playwright-core. The page must
// render every operation of the service's document, load nothing from outside the service (a
// cluster may have no internet access), and "Try it out" must reach the service it documents.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startData, startUser, waitFor } from '../support/services.ts';
import { operationsOf, type Json } from './support/openapi.ts';

/** Debian's package; `.ci/run` installs it. */
const CHROMIUM = '/usr/bin/chromium';
const NO_CHROMIUM = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
const haveChromium = existsSync(CHROMIUM);
// Each test also skips with this note; the line says why in any reporter.
if (!haveChromium) console.warn(`test/api/docs-page.test.ts skipped: ${NO_CHROMIUM}`);

let db: TestDatabase;
let services: Record<'user' | 'data', { url: string; stop: () => Promise<void> }>;
let profile: string;
let browser: BrowserContext;

beforeAll(async () => {
  if (!haveChromium) return;
  db = await createTestDatabase('docs_page');
  const user = await startUser(db.name);
  await user.migrated;
  const data = await startData(db.name);
  await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200, 10_000);
  services = { user, data };
  // A fresh profile, and nothing that talks to the network on its own.
  profile = mkdtempSync(join(tmpdir(), 'docs-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await Promise.all([services?.user.stop(), services?.data.stop()]);
  await db?.drop();
});

describe.each(['user', 'data'] as const)('%s-service /docs in headless Chromium', (service) => {
  it('lists every operation of /openapi.json, with assets served by the service alone', async (context) => {
    if (!haveChromium) context.skip(NO_CHROMIUM);
    const { url } = services[service];
    const origin = new URL(url).origin;
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as Json;

    const page = await browser.newPage();
    const outside: string[] = [];
    const failed: string[] = [];
    const pageErrors: string[] = [];
    // Anything not addressed to the service is refused and remembered: the page must not need it.
    await page.route('**/*', (route) => {
      const target = route.request().url();
      if (new URL(target).origin === origin) return route.continue();
      outside.push(target);
      return route.abort();
    });
    page.on('response', (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));

    const answer = await page.goto(`${url}/docs`);
    expect(answer?.status()).toBe(200);
    const operations = operationsOf(document);
    await page.locator('.opblock').nth(operations.length - 1).waitFor({ timeout: 20_000 });

    const shown = await page.locator('.opblock').evaluateAll((blocks) =>
      blocks.map((block) => ({
        method: block.querySelector('.opblock-summary-method')?.textContent?.trim(),
        path: block.querySelector('.opblock-summary-path')?.getAttribute('data-path'),
        operationId: block.querySelector('.opblock-summary-operation-id')?.textContent?.trim(),
      })),
    );
    const byId = (a: { operationId?: string }, b: { operationId?: string }) => String(a.operationId).localeCompare(String(b.operationId));
    expect(shown.sort(byId)).toEqual(operations.map(({ method, path, operationId }) => ({ method, path, operationId })).sort(byId));
    expect(await page.title()).toBe(`${service}-service API`);

    expect(outside).toEqual([]);
    expect(failed).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('"Try it out" sends the request to the service that serves the page', async (context) => {
    if (!haveChromium) context.skip(NO_CHROMIUM);
    const { url } = services[service];
    const page = await browser.newPage();
    await page.goto(`${url}/docs`);
    const operation = page.locator('#operations-operations-getServiceInfo');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.getByRole('button', { name: 'Execute' }).click();
    const status = operation.locator('.live-responses-table tbody .response-col_status').first();
    await expect.poll(async () => (await status.textContent())?.trim(), { timeout: 10_000 }).toBe('200');
    await expect.poll(async () => operation.locator('.live-responses-table tbody .microlight').first().textContent(), { timeout: 10_000 }).toContain(`${service}-service`);
    await page.close();
  });
});
