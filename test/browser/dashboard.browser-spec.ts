import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { adminKeyWith } from '../support/fixtures';
import { ROOT, TestServer } from '../support/server';
import { verify, WebhookReceiver } from '../support/webhook-receiver';
import { launch, screenshot, VIEWPORT, watchedPage, WatchedPage } from './browser';

/** The README's screenshots are retaken with UPDATE_DOC_IMAGES=1; otherwise they go with the other artifacts. */
const DOC_IMAGES = process.env.UPDATE_DOC_IMAGES === '1' ? join(ROOT, 'docs', 'images') : undefined;

/** Polls until `check` passes (Playwright's own expect is not part of playwright-core). */
async function eventually(check: () => Promise<void>, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function textOf(locator: Locator): Promise<string> {
  await locator.first().waitFor({ timeout: 10000 });
  return (await locator.first().innerText()).trim();
}

/** Ids as the API makes them (cons_…, key_…, plan_…): what a person should not have to read where a name exists. */
const ID_SHAPED = /\b(cons|key|plan)_[0-9A-Za-z]{10,}/;

/** The page is as wide as the window: nothing makes it scroll sideways. */
async function pageWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.scrollingElement!.scrollWidth);
}

/** Whether the whole element is inside the visible part of the page. */
async function inViewport(locator: Locator): Promise<boolean> {
  const box = await locator.boundingBox();
  return !!box && box.x >= 0 && box.y >= 0 && box.x + box.width <= VIEWPORT.width && box.y + box.height <= VIEWPORT.height;
}

/** A one-time secret is in view, focused, and goes away only after "I have stored it" is ticked and Done pressed. */
async function expectSecretInViewAndFocused(page: Page): Promise<Locator> {
  const box = page.getByTestId('secret-once');
  await box.waitFor();
  const input = box.locator('input[readonly]');
  await eventually(async () => expect(await inViewport(input)).toBe(true), 3000);
  expect(await input.evaluate((el) => el === document.activeElement)).toBe(true);
  const done = box.getByRole('button', { name: 'Done' });
  expect(await done.isDisabled()).toBe(true);
  return box;
}

async function dismissSecret(page: Page): Promise<void> {
  const box = page.getByTestId('secret-once');
  await box.getByLabel('I have stored it somewhere safe').check();
  await box.getByRole('button', { name: 'Done' }).click();
  await eventually(async () => expect(await box.count()).toBe(0));
}

describe('operator console (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let w: WatchedPage;
  let page: Page;
  let receiver: WebhookReceiver;
  let failed = false;
  const state: { consumerId?: string; keyId?: string; plaintext?: string; endpointId?: string } = {};

  /** Runs a step; on failure saves a screenshot of where the page was. */
  async function step(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      failed = true;
      const path = await screenshot(page, `failed-${name}`).catch(() => 'no screenshot');
      throw new Error(`${(err as Error).message}\n(screenshot: ${path})`);
    }
  }

  const go = (hash: string) => page.goto(`${server.url}/dashboard/${hash}`);
  let shots = 0;
  /** One screenshot per step of the operator's path, numbered in order, in .ci/artifacts/browser/. */
  const shot = (name: string) => screenshot(page, `path-${String(++shots).padStart(2, '0')}-${name}`);

  beforeAll(async () => {
    // The webhook receiver is a local HTTP server; retries come quickly so a failed first attempt is retried within the test.
    receiver = await WebhookReceiver.start();
    server = await TestServer.start({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_RETRY_BASE_MS: '300' } });
    browser = await launch();
    w = await watchedPage(browser, server.url);
    page = w.page;
  });

  afterAll(async () => {
    if ((failed || process.env.DASHBOARD_SCREENSHOTS === '1') && page) {
      // The main pages as they were at the end, for the CI log (or on request).
      for (const [name, hash] of [
        ['overview', '#/'],
        ['consumers', '#/consumers'],
        ['plans', '#/plans'],
        ['billing', '#/billing'],
        ['audit', '#/audit'],
        ['webhooks', '#/webhooks'],
        ...(state.endpointId ? [['webhook-endpoint', `#/webhooks/${state.endpointId}`]] : []),
        ...(state.consumerId ? [['consumer', `#/consumers/${state.consumerId}`]] : []),
        ...(state.keyId ? [['key', `#/keys/${state.keyId}`]] : []),
      ]) {
        await go(hash)
          .then(() => page.waitForTimeout(1000))
          .then(() => screenshot(page, `end-${name}`))
          .catch(() => undefined);
      }
    }
    await browser?.close();
    await server?.stop();
    await receiver?.stop();
  });

  it('serves the console with a strict CSP, and refuses a wrong key with the API message and request id', () =>
    step('sign-in-error', async () => {
      const res = await fetch(`${server.url}/dashboard/`);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      const redirect = await fetch(`${server.url}/dashboard`, { redirect: 'manual' });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.get('location')).toBe('/dashboard/');

      await go('');
      await page.getByLabel('Admin API key').fill('tg_live_notakeynotakeynotakeynotakeynotakey0');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = page.getByRole('alert');
      expect(await textOf(alert)).toContain('INVALID_API_KEY');
      expect(await textOf(page.getByTestId('request-id'))).toMatch(/^req_/);
    }));

  it('signs in with an admin key, which shows its scopes and stays only in the tab', () =>
    step('sign-in', async () => {
      await page.getByLabel('Admin API key').fill(server.adminKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      expect(await page.getByTestId('my-scopes').textContent()).toContain('*');
      const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('tollgate.adminKey'), local: localStorage.length, cookie: document.cookie }));
      expect(stored).toEqual({ session: server.adminKey, local: 0, cookie: '' });
      expect(page.url()).not.toContain(server.adminKey);
      await shot('sign-in');
    }));

  it('creates a plan in major units, limits and quotas as rows with units, and previews a sample month', () =>
    step('plan', async () => {
      await go('#/plans');
      await page.getByRole('button', { name: 'New plan' }).click();
      // No example that looks like a value already filled in.
      expect(await page.locator('form input[placeholder], form textarea[placeholder]').count()).toBe(0);
      await page.getByLabel('Name', { exact: true }).fill('Pro');
      // Money as a person types it: 49.00 dollars, not 4900 cents.
      await page.getByLabel('Base fee per period (USD)').fill('49.00');
      await page.getByRole('button', { name: 'Add a rate limit' }).click();
      await page.locator('#plan-limit-0-name').fill('minute');
      await page.locator('#plan-limit-0-limit').fill('25');
      await page.locator('#plan-limit-0-window').fill('60');
      await page.getByRole('button', { name: 'Add a quota' }).click();
      await page.locator('#quota-0-metric').fill('requests');
      await page.locator('#quota-0-limit').fill('100000');
      await page.locator('#price-0-metric').fill('requests');
      await page.getByLabel('Unit price (USD per unit)').fill('0.01');
      // The preview prices a sample month with the server's own pricing code: 49 + 10,000 × 0.01.
      await eventually(async () => expect(await textOf(page.getByTestId('plan-preview-total'))).toBe('US$149.00'));
      await page.getByLabel('Sample usage of requests').fill('1000');
      await eventually(async () => expect(await textOf(page.getByTestId('plan-preview-total'))).toBe('US$59.00'));
      // A remove button is an ordinary small button beside what it removes.
      const remove = await page.getByRole('button', { name: 'Remove price 1' }).boundingBox();
      expect(remove!.height).toBeLessThan(40);
      expect(remove!.width).toBeLessThan(160);
      await shot('plan-form');
      await page.getByRole('button', { name: 'Create plan' }).click();
      await page.getByRole('cell', { name: /Pro/ }).first().waitFor();
      const row = page.locator('tbody tr').filter({ hasText: 'Pro' });
      expect(await textOf(row)).toContain('requests: 0.01 USD per unit');
      expect(await textOf(row)).toContain('minute: 25 requests per 60 seconds');
      expect(await textOf(row)).toContain('requests: 100,000 per month');
      expect(await textOf(row)).toContain('US$49.00');
      const plans = await server.get('/v1/admin/plans?limit=100', server.adminKey);
      expect(plans.body.data.find((p: any) => p.name === 'Pro')).toMatchObject({
        baseFeeMinor: 4900,
        rateLimits: [{ name: 'minute', limit: 25, windowSeconds: 60 }],
        quotas: [{ metric: 'requests', limit: 100000, period: 'month' }],
      });

      // Tiered prices as rows: up to, unit price, flat fee; the last tier has no bound.
      await page.getByRole('button', { name: 'New plan' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Scale');
      await page.getByLabel('Currency (ISO 4217)').fill('EUR');
      await page.getByLabel('Base fee per period (EUR)').fill('0');
      await page.locator('#price-0-metric').fill('tokens');
      await page.locator('#price-0-model').selectOption('graduated');
      await page.getByRole('button', { name: 'Add a tier' }).click();
      await page.locator('#price-0-tier-0-upto').fill('1000');
      await page.locator('#price-0-tier-0-price').fill('0.002');
      await page.locator('#price-0-tier-1-price').fill('0.001');
      await page.locator('#price-0-tier-1-flat').fill('5');
      // 1,000 × 0.002 + 9,000 × 0.001 + 5 = 16.00
      await eventually(async () => expect(await textOf(page.getByTestId('plan-preview-total'))).toBe('€16.00'));
      // A base fee with more decimals than the currency has is refused in the form, before the API.
      await page.getByLabel('Base fee per period (EUR)').fill('1.005');
      expect(await textOf(page.getByTestId('plan-preview'))).toContain('EUR has 2 decimals at most');
      await page.getByLabel('Base fee per period (EUR)').fill('0');
      await page.getByRole('button', { name: 'Create plan' }).click();
      await eventually(async () => expect(await textOf(page.locator('tbody'))).toContain('tokens: graduated (to 1,000: 0.002; above: 0.001 + 5) EUR'));
      await shot('plans');
    }));

  it('creates a consumer on that plan and shows the open period estimate', () =>
    step('consumer', async () => {
      await go('#/consumers');
      await page.getByRole('button', { name: 'New consumer' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Acme Robotics');
      await page.getByLabel('External id (optional)').fill('acme-42');
      await page.locator('#new-consumer-plan').selectOption({ label: 'Pro (USD)' });
      await page.getByRole('button', { name: 'Create consumer' }).click();
      await page.getByRole('heading', { name: 'Acme Robotics' }).waitFor();
      state.consumerId = decodeURIComponent(page.url().split('/').pop() ?? '');
      expect(state.consumerId).toMatch(/^cons_/);
      const estimate = page.getByTestId('estimate');
      expect(await textOf(estimate)).toContain('Base fee');
      expect(await textOf(page.getByTestId('invoice-total'))).toContain('49.00');
      await shot('consumer');

      // Found by a part of its name, whatever the case.
      await go('#/consumers');
      await page.getByLabel('Search by name').fill('robot');
      await eventually(async () => expect(await page.locator('tbody tr').count()).toBe(1));
      expect(await textOf(page.locator('tbody tr'))).toContain('Acme Robotics');
      await page.getByLabel('Search by name').fill('no such consumer');
      await eventually(async () => expect(await textOf(page.locator('main'))).toContain('No consumer matches these filters.'));
    }));

  it('creates a key and shows its plaintext once; after a reload it is gone', () =>
    step('key-create', async () => {
      await go(`#/consumers/${state.consumerId}`);
      await page.getByRole('button', { name: 'New key' }).click();
      await page.locator('#key-name').fill('backend');
      await page.getByLabel('Own rate limit: requests (optional)').fill('5');
      await page.getByRole('button', { name: 'Create key' }).click();
      // In view and focused, however long the form above it was.
      const secret = await expectSecretInViewAndFocused(page);
      expect(await secret.innerText()).toContain('You will not see it again');
      await shot('key-created');
      state.plaintext = await secret.locator('input[readonly]').inputValue();
      expect(state.plaintext).toMatch(/^tg_live_/);
      await page.getByRole('button', { name: 'Copy' }).click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(state.plaintext);
      // Leaving it takes a deliberate act; then the list shows the key.
      await dismissSecret(page);
      await page.getByRole('link', { name: 'backend' }).click();
      await page.getByRole('heading', { name: 'backend' }).waitFor();
      state.keyId = decodeURIComponent(page.url().split('/').pop() ?? '');

      await page.reload();
      await page.getByRole('heading', { name: 'backend' }).waitFor();
      expect(await page.getByTestId('secret-once').count()).toBe(0);
      expect(await page.content()).not.toContain(state.plaintext);
    }));

  it('shows traffic with the key on the chart, split by outcome, and the estimate moves', () =>
    step('traffic', async () => {
      const key = state.plaintext!;
      expect(await textOf(page.locator('.chart'))).toContain('No traffic in this range');
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await server.get('/v1/me/ping', key)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      await eventually(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        expect(await textOf(page.locator('[data-series="valid"] dd'))).toBe('5');
        expect(await textOf(page.locator('[data-series="rate-limited"] dd'))).toBe('3');
      });
      expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
      expect(await textOf(page.locator('[data-outcome="RATE_LIMIT_EXCEEDED"]'))).toContain('3');
      const title = await page.locator('time').first().getAttribute('title');
      expect(title).toMatch(/UTC$/);

      // Refused requests are never billed: 5 requests at 0.01 on top of the 49.00 base fee.
      await go(`#/consumers/${state.consumerId}`);
      await eventually(async () => {
        await page.reload();
        expect(await textOf(page.getByTestId('invoice-total'))).toContain('49.05');
      });
      // The consumer's usage per metric, at another granularity.
      await page.getByLabel('last hour, per minute').check();
      await eventually(async () => expect(await textOf(page.locator('[data-series="requests"] dd'))).toBe('5'));
      await go(`#/keys/${state.keyId}`);
      await page.locator('[data-outcome="VALID"]').waitFor();
      await shot('traffic');
    }));

  it('rotates a key after confirmation, shows the new plaintext in view, and marks the pair by name', () =>
    step('rotate', async () => {
      await go(`#/keys/${state.keyId}`);
      // The breadcrumb names the consumer.
      await eventually(async () => expect(await textOf(page.getByRole('navigation', { name: 'breadcrumb' }))).toContain('Acme Robotics'));
      await page.getByLabel('Grace period for the old key (hours, 0–168)').fill('24');
      await page.getByRole('button', { name: 'Rotate…' }).click();
      const dialog = page.getByRole('dialog');
      expect(await textOf(dialog)).toContain('keeps working for 24 hours');
      expect(await page.getByTestId('secret-once').count()).toBe(0);
      await dialog.getByRole('button', { name: 'Rotate the key' }).click();
      const secret = await expectSecretInViewAndFocused(page);
      const rotated = await secret.locator('input[readonly]').inputValue();
      expect(rotated).toMatch(/^tg_live_/);
      await shot('rotated');
      await dismissSecret(page);
      // The consumer's keys: two called "backend", told apart by which replaced which and when the old one stops.
      await go(`#/consumers/${state.consumerId}`);
      const rows = page.locator('tbody tr').filter({ hasText: 'backend' });
      await eventually(async () => expect(await rows.count()).toBe(2));
      const newer = rows.filter({ has: page.getByTestId('rotated-from') });
      const older = rows.filter({ has: page.getByTestId('replaced-by') });
      expect(await textOf(newer)).toMatch(/rotated from tg_live_\w+…/);
      expect(await textOf(older)).toMatch(/replaced by tg_live_\w+…/);
      expect(await textOf(older)).toMatch(/expires in 2[34] h/);
      await shot('consumer-keys-rotated');
    }));

  it('revokes the key after confirmation, and counts its 401s as refused', () =>
    step('revoke', async () => {
      await go(`#/keys/${state.keyId}`);
      await page.getByRole('heading', { name: 'backend' }).waitFor();
      await page.getByRole('button', { name: 'Revoke…' }).click();
      const dialog = page.getByRole('dialog');
      expect(await textOf(dialog)).toContain('KEY_REVOKED');
      await dialog.getByRole('button', { name: 'Revoke the key' }).click();
      await page.locator('mark.status-revoked').first().waitFor();
      const r = await server.get('/v1/me/ping', state.plaintext);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('KEY_REVOKED');
      await eventually(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        expect(await textOf(page.locator('[data-series="refused"] dd'))).toBe('1');
      });
      expect(await textOf(page.locator('[data-outcome="KEY_REVOKED"]'))).toContain('1');
      await screenshot(page, 'dashboard-key', DOC_IMAGES);
      await shot('revoked');
    }));

  it('closes a billing period after confirmation and downloads its export', () =>
    step('billing', async () => {
      await go('#/billing');
      // Periods name their consumer; nothing id-shaped is left to read.
      await eventually(async () => expect(await textOf(page.locator('tbody'))).toContain('Acme Robotics'));
      expect(await textOf(page.locator('tbody'))).not.toMatch(ID_SHAPED);
      // Filtered by choosing the consumer by name.
      await page.getByLabel('Consumer', { exact: true }).fill('acme');
      await page.getByRole('button', { name: 'Acme Robotics' }).click();
      const row = page.locator('tbody tr').filter({ hasText: 'Acme Robotics' });
      await eventually(async () => expect(await page.locator('tbody tr').count()).toBe(1));
      // "Close period…" reads as the billing action it is, not as closing a panel.
      expect(await row.getByRole('button', { name: 'Close', exact: true }).count()).toBe(0);
      await row.getByRole('button', { name: 'Close period…' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Close the period' }).click();
      await eventually(async () => expect(await textOf(row.locator('mark'))).toBe('closed'));

      for (const format of ['csv', 'ndjson'] as const) {
        await page.locator('#export-format').selectOption(format);
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
        const body = readFileSync((await download.path())!, 'utf8');
        expect(download.suggestedFilename()).toMatch(new RegExp(`\\.${format}$`));
        expect(body).toContain(state.consumerId!);
        expect(body).toContain('closed');
        if (format === 'csv') expect(body.split('\n')[0]).toContain('consumerId,externalId,periodId');
      }
      await shot('export');
    }));

  it('shows the audit log with an intact chain, and the overview', () =>
    step('audit-overview', async () => {
      await go('#/audit');
      expect(await textOf(page.getByTestId('chain-badge'))).toContain('Chain intact');
      expect(await textOf(page.locator('tbody'))).toContain('key.revoke');
      // Who did it and to what, by name: the admin key's name, the consumer's and the key's.
      await eventually(async () => expect(await page.locator('tbody [aria-busy="true"]').count()).toBe(0));
      const body = await textOf(page.locator('tbody'));
      expect(body).not.toMatch(ID_SHAPED);
      expect(body).toContain('Acme Robotics');
      expect(body).toContain('backend');
      // "Check again" shows that it checked again.
      const checked = page.getByTestId('chain-checked');
      expect(await textOf(checked)).toMatch(/^Checked at /);
      await page.getByRole('button', { name: 'Check again' }).click();
      await eventually(async () => expect(await textOf(checked)).toMatch(/^Checked again at /));
      await shot('audit');
      await go('#/webhooks');
      await eventually(async () => expect(await textOf(page.locator('main'))).toContain('No webhook endpoints yet'));
      expect(await page.getByRole('alert').count()).toBe(0);
      await go('#/');
      expect(await textOf(page.getByTestId('requests-24h'))).toBe('5');
      await page.locator('.chart canvas').first().waitFor();
      await screenshot(page, 'dashboard-overview', DOC_IMAGES);
    }));

  it('creates a webhook endpoint, shows its secret once, and follows a test event to a successful delivery', () =>
    step('webhooks', async () => {
      const path = '/console-hook';
      // The first attempt fails, so the delivery shows a failed attempt before the retry that succeeds.
      let calls = 0;
      receiver.answer(path, () => (++calls === 1 ? 503 : 200));

      await go('#/webhooks');
      await page.getByText('New endpoint').click();
      await page.getByLabel('Endpoint URL').fill(receiver.url(path));
      await page.getByLabel('Description (optional)').fill('Console test receiver');
      await page.getByRole('switch', { name: /All events/ }).uncheck();
      await page.getByRole('checkbox', { name: 'key.revoked' }).check();
      await page.getByRole('checkbox', { name: 'consumer.created' }).check();
      await page.getByRole('button', { name: 'Create endpoint' }).click();
      const secretBox = page.getByTestId('secret-once');
      await secretBox.waitFor();
      expect(await secretBox.innerText()).toContain('You will not see it again');
      const secret = await secretBox.locator('input[readonly]').inputValue();
      expect(secret).toMatch(/^whsec_/);
      await secretBox.getByRole('button', { name: 'Copy' }).click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
      const row = page.locator('tbody tr').filter({ hasText: receiver.url(path) });
      expect(await textOf(row)).toContain('key.revoked');
      expect(await textOf(row)).toContain('consumer.created');
      expect(await textOf(row.locator('mark'))).toBe('enabled');

      await page.getByRole('link', { name: 'Open the endpoint' }).click();
      await page.getByRole('heading', { name: receiver.url(path) }).waitFor();
      state.endpointId = decodeURIComponent(page.url().split('/').pop() ?? '');
      expect(state.endpointId).toMatch(/^whe_/);
      // Shown once: leaving the list and coming back loses it.
      expect(await page.getByTestId('secret-once').count()).toBe(0);
      expect(await page.content()).not.toContain(secret);
      await eventually(async () => expect(await textOf(page.locator('main'))).toContain('No deliveries to this endpoint yet'));

      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.getByText('Test event queued').waitFor();
      const received = await receiver.waitFor(path, (rs) => rs.length >= 2);
      // Signed with the secret the console showed.
      expect(verify(secret, received[1])).toMatchObject({ type: 'webhook.test' });
      const delivery = page.locator('tbody tr[data-delivery]').first();
      await eventually(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        expect(await delivery.getAttribute('data-status')).toBe('succeeded');
      }, 30000);
      expect(await textOf(delivery)).toContain('webhook.test');
      expect(await textOf(delivery)).toContain('200');
      await delivery.locator('summary').click();
      const first = delivery.locator('[data-attempt="1"]');
      expect(await textOf(first)).toContain('503');
      expect(await textOf(first)).toMatch(/\d+ ms/);
      expect(await textOf(first.locator('pre'))).toBe('failure 503');
      expect(await textOf(delivery.locator('[data-attempt="2"]'))).toContain('200');
      await shot('webhook-delivered');

      // The status filter asks the API again.
      await page.locator('#delivery-status-filter').selectOption('failed');
      await eventually(async () => expect(await textOf(page.locator('main'))).toContain('No deliveries with status failed'));
      await page.locator('#delivery-status-filter').selectOption('succeeded');
      await delivery.waitFor();
      // Back to every status: a retried delivery is pending until its attempt.
      await page.locator('#delivery-status-filter').selectOption({ label: 'Any' });
      await eventually(async () => expect(await delivery.count()).toBe(1));

      // Retry works on a delivery in any state: one more attempt.
      await delivery.getByRole('button', { name: 'Retry' }).click();
      await receiver.waitFor(path, (rs) => rs.length >= 3);
      await eventually(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        expect(await textOf(delivery.locator('summary'))).toBe('3');
        expect(await delivery.getAttribute('data-status')).toBe('succeeded');
      }, 30000);

      // Rotating shows the new secret once; the next delivery carries its signature.
      await page.getByRole('button', { name: 'Rotate secret' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Rotate the secret' }).click();
      const rotated = await page.getByTestId('secret-once').locator('input[readonly]').inputValue();
      expect(rotated).toMatch(/^whsec_/);
      expect(rotated).not.toBe(secret);
      await page.getByRole('button', { name: 'Send test event' }).click();
      const afterRotation = await receiver.waitFor(path, (rs) => rs.length >= 4);
      expect(verify(rotated, afterRotation[3])).toMatchObject({ type: 'webhook.test' });

      // Disabled: no test events, and the list says so.
      await page.getByRole('button', { name: 'Disable', exact: true }).click();
      await page.getByRole('button', { name: 'Enable', exact: true }).waitFor();
      expect(await page.getByRole('button', { name: 'Send test event' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Enable', exact: true }).click();
      await page.getByRole('button', { name: 'Disable', exact: true }).waitFor();

      // Settings: every event from now on, and a new description.
      await page.getByLabel('Description', { exact: true }).fill('Everything, for the on-call channel');
      await page.locator('#edit-webhook-all-events').check();
      await page.getByRole('button', { name: 'Save endpoint settings' }).click();
      await eventually(async () => expect(await textOf(page.locator('dl.facts'))).toContain('all events'));
      expect(await textOf(page.locator('dl.facts'))).toContain('Everything, for the on-call channel');
      await screenshot(page, 'dashboard-webhooks', DOC_IMAGES);

      // An endpoint whose every attempt fails is named on the overview.
      receiver.answer('/always-500', () => 500);
      const failing = await server.post('/v1/admin/webhook-endpoints', { url: receiver.url('/always-500'), events: ['*'] }, server.adminKey);
      expect(failing.status).toBe(201);
      expect((await server.post(`/v1/admin/webhook-endpoints/${failing.body.id}/test`, {}, server.adminKey)).status).toBe(200);
      await receiver.waitFor('/always-500', (rs) => rs.length >= 1);
      await eventually(async () => {
        await go('#/');
        await page.getByTestId('requests-24h').waitFor();
        expect(await page.getByTestId('webhooks-failing').count()).toBe(1);
      });
      expect(await textOf(page.getByTestId('webhooks-failing'))).toContain(receiver.url('/always-500'));
      expect((await server.request('DELETE', `/v1/admin/webhook-endpoints/${failing.body.id}`, { key: server.adminKey })).status).toBe(204);
    }));

  it('says an endpoint state in one true sentence, and shows a whole attempt error on demand', () =>
    step('webhook-state', async () => {
      // Nothing listens on port 9 of this host: every attempt fails without an answer.
      const created = await server.post('/v1/admin/webhook-endpoints', { url: 'http://127.0.0.1:9/nobody-listens', events: ['*'] }, server.adminKey);
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      await go(`#/webhooks/${id}`);
      await eventually(async () => expect(await textOf(page.getByTestId('endpoint-state'))).toContain('nothing has been sent to it yet'));
      await page.getByRole('button', { name: 'Send test event' }).click();
      let lastError = '';
      await eventually(async () => {
        const list = await server.get(`/v1/admin/webhook-endpoints/${id}/deliveries`, server.adminKey);
        lastError = list.body.data[0]?.lastError ?? '';
        expect(lastError).not.toBe('');
      }, 30000);
      await eventually(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        const sentence = await textOf(page.getByTestId('endpoint-state'));
        expect(sentence).toMatch(/fail/i);
        expect(sentence).not.toMatch(/succe/i);
      }, 30000);
      // One statement of the state: no "Failing since — (deliveries succeed)" beside it.
      expect(await textOf(page.locator('main'))).not.toContain('deliveries succeed');
      // The whole error, readable inside the page.
      const row = page.locator('tbody tr[data-delivery]').first();
      const details = row.locator('details.full-error');
      if (await details.count()) await details.first().locator('summary').click();
      await eventually(async () => expect(await row.innerText()).toContain(lastError));
      expect(await pageWidth(page)).toBeLessThanOrEqual(VIEWPORT.width);
      await shot('webhook-failing');
      expect((await server.request('DELETE', `/v1/admin/webhook-endpoints/${id}`, { key: server.adminKey })).status).toBe(204);
    }));

  it('never scrolls sideways at 1366 px, whatever the length of names, URLs and changes', () =>
    step('layout', async () => {
      const long = 'Consolidated-Intercontinental-Logistics-and-Robotics-Holdings-' + 'X'.repeat(120);
      const consumer = await server.post('/v1/admin/consumers', { name: long, externalId: 'ext-' + 'y'.repeat(150), metadata: { note: 'z'.repeat(600) } }, server.adminKey);
      expect(consumer.status).toBe(201);
      const key = await server.post(`/v1/admin/consumers/${consumer.body.id}/keys`, { name: 'k'.repeat(180), scopes: ['usage:read'] }, server.adminKey);
      expect(key.status).toBe(201);
      receiver.answer('/long', () => 200);
      const endpoint = await server.post('/v1/admin/webhook-endpoints', { url: receiver.url('/long/' + 'segment'.repeat(40)), events: ['*'], description: 'd'.repeat(300) }, server.adminKey);
      expect(endpoint.status).toBe(201);
      const pages = [
        '#/',
        '#/consumers',
        `#/consumers/${consumer.body.id}`,
        `#/keys/${key.body.id}`,
        '#/plans',
        '#/billing',
        '#/audit',
        '#/webhooks',
        `#/webhooks/${endpoint.body.id}`,
      ];
      for (const hash of pages) {
        await go(hash);
        await page.locator('main h1').first().waitFor();
        await page.waitForTimeout(300);
        expect({ hash, fits: (await pageWidth(page)) <= VIEWPORT.width }).toEqual({ hash, fits: true });
      }
      // The audit log: dates readable in full, the time on one line, an open change inside its box.
      await go('#/audit');
      await page.locator('tbody tr').first().waitFor();
      for (const id of ['#audit-from', '#audit-to']) {
        const box = await page.locator(id).boundingBox();
        expect(box!.width).toBeGreaterThanOrEqual(220);
      }
      const when = page.locator('tbody tr td:nth-child(2) time').first();
      const lineHeight = await when.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 24);
      expect((await when.boundingBox())!.height).toBeLessThan(lineHeight * 1.5);
      const change = page.locator('tbody tr').filter({ hasText: 'consumer.create' }).first().locator('details');
      await change.locator('summary').click();
      await eventually(async () => expect(await change.locator('pre').isVisible()).toBe(true));
      expect(await pageWidth(page)).toBeLessThanOrEqual(VIEWPORT.width);
      await shot('audit-long-change');
      expect((await server.request('DELETE', `/v1/admin/webhook-endpoints/${endpoint.body.id}`, { key: server.adminKey })).status).toBe(204);
    }));

  it('shows one version: Swagger UI says what package.json says', () =>
    step('version', async () => {
      const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      await page.goto(`${server.url}/docs`);
      const badge = page.locator('.info .title .version').first();
      await badge.waitFor({ timeout: 20000 });
      expect((await badge.innerText()).trim()).toBe(version);
      await go('#/');
      await page.getByTestId('whoami').waitFor();
    }));

  it('shows webhooks to a webhooks:read key with every action disabled, and deletes an endpoint after confirmation', () =>
    step('webhooks-scopes', async () => {
      const readOnly = await adminKeyWith(server, ['webhooks:read']);
      await page.getByTestId('whoami').click();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Admin API key').fill(readOnly);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: 'Webhooks' }).click();
      expect(await page.getByRole('button', { name: 'New endpoint' }).isDisabled()).toBe(true);
      await go(`#/webhooks/${state.endpointId}`);
      await page.locator('tbody tr[data-delivery]').first().waitFor();
      await eventually(async () => expect(await textOf(page.locator('main'))).toContain('lacks the webhooks:write scope'));
      for (const name of ['Send test event', 'Disable', 'Rotate secret', 'Delete', 'Retry']) {
        expect(await page.getByRole('button', { name, exact: true }).first().isDisabled()).toBe(true);
      }

      await page.getByTestId('whoami').click();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Admin API key').fill(server.adminKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await go(`#/webhooks/${state.endpointId}`);
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete the endpoint' }).click();
      await page.getByRole('heading', { name: 'Endpoint deleted' }).waitFor();
      const r = await server.get(`/v1/admin/webhook-endpoints/${state.endpointId}`, server.adminKey);
      expect(r.status).toBe(404);
      await go('#/webhooks');
      await eventually(async () => expect(await textOf(page.locator('main'))).toContain('No webhook endpoints yet'));
    }));

  it('hides and disables what a key without consumers:write may not do', () =>
    step('narrow-key', async () => {
      const narrow = await adminKeyWith(server, ['consumers:read']);
      await page.getByTestId('whoami').click();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Admin API key').waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('tollgate.adminKey'))).toBeNull();
      await page.getByLabel('Admin API key').fill(narrow);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: 'Consumers' }).click();
      const create = page.getByRole('button', { name: 'New consumer' });
      await create.waitFor();
      expect(await create.isDisabled()).toBe(true);
      expect(await textOf(page.locator('main'))).toContain('lacks the consumers:write scope');
      expect(await page.getByRole('button', { name: /Suspend/ }).first().isDisabled()).toBe(true);
      // Routes the key may not read are not offered at all.
      for (const name of ['Plans', 'Billing', 'Audit log', 'Webhooks']) expect(await page.getByRole('link', { name }).count()).toBe(0);
    }));

  it('is interactive within a second of navigation (warm browser, embedded database)', () =>
    step('interactive', async () => {
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        await page.goto('about:blank');
        const started = Date.now();
        await page.goto(`${server.url}/dashboard/#/consumers`);
        // Signed in from the tab's storage: interactive once the first page's data is on screen and usable.
        await page.getByRole('link', { name: 'Acme Robotics' }).waitFor();
        await page.getByRole('searchbox').fill('x');
        samples.push(Date.now() - started);
      }
      const best = Math.min(...samples);
      process.stdout.write(`dashboard: consumers page interactive in ${samples.join(', ')} ms\n`);
      // The target is 1 s; the bound leaves room for a CI machine shared with other jobs.
      expect(best).toBeLessThan(2000);
    }));

  it('sent nothing to another host and broke no CSP rule', () => {
    expect(w.foreignRequests).toEqual([]);
    expect(w.problems).toEqual([]);
  });
});
