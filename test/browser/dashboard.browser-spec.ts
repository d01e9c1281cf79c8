import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { adminKeyWith } from '../support/fixtures';
import { ROOT, TestServer } from '../support/server';
import { verify, WebhookReceiver } from '../support/webhook-receiver';
import { launch, screenshot, watchedPage, WatchedPage } from './browser';

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
    }));

  it('creates a plan with a per-unit price', () =>
    step('plan', async () => {
      await go('#/plans');
      await page.getByRole('button', { name: 'New plan' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Pro');
      await page.getByLabel('Base fee per period (minor units, e.g. cents)').fill('4900');
      await page.getByLabel('Metric', { exact: true }).fill('requests');
      await page.getByLabel('Unit price', { exact: true }).fill('0.01');
      await page.getByRole('button', { name: 'Create plan' }).click();
      await page.getByRole('cell', { name: /Pro/ }).first().waitFor();
      expect(await textOf(page.locator('tbody'))).toContain('requests: 0.01 USD per unit');

      // Tiered prices: one tier per line, `*` for the last.
      await page.getByRole('button', { name: 'New plan' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Scale');
      await page.getByLabel('Currency (ISO 4217)').fill('EUR');
      await page.getByLabel('Metric', { exact: true }).fill('tokens');
      await page.locator('#price-0-model').selectOption('graduated');
      await page.locator('#price-0-tiers').fill('1000 0.002\n* 0.001 5');
      await page.getByRole('button', { name: 'Create plan' }).click();
      await eventually(async () => expect(await textOf(page.locator('tbody'))).toContain('tokens: graduated (to 1,000: 0.002; above: 0.001 + 5) EUR'));
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
    }));

  it('creates a key and shows its plaintext once; after a reload it is gone', () =>
    step('key-create', async () => {
      await page.getByRole('button', { name: 'New key' }).click();
      await page.locator('#key-name').fill('backend');
      await page.getByLabel('Own rate limit: requests (optional)').fill('5');
      await page.getByRole('button', { name: 'Create key' }).click();
      const secret = page.getByTestId('secret-once');
      await secret.waitFor();
      expect(await secret.innerText()).toContain('You will not see it again');
      state.plaintext = await secret.locator('input').inputValue();
      expect(state.plaintext).toMatch(/^tg_live_/);
      await page.getByRole('button', { name: 'Copy' }).click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(state.plaintext);
      await page.getByRole('link', { name: 'Open the key' }).click();
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
    }));

  it('revokes the key after confirmation, and counts its 401s as refused', () =>
    step('revoke', async () => {
      await go(`#/keys/${state.keyId}`);
      await page.getByRole('heading', { name: 'backend' }).waitFor();
      await page.getByRole('button', { name: 'Revoke', exact: true }).click();
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
    }));

  it('closes a billing period after confirmation and downloads its export', () =>
    step('billing', async () => {
      await go('#/billing');
      await page.getByLabel('Consumer id', { exact: true }).fill(state.consumerId!);
      const row = page.locator('tbody tr').filter({ hasText: state.consumerId! });
      await eventually(async () => expect(await row.count()).toBe(1));
      await row.getByRole('button', { name: 'Close' }).click();
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
    }));

  it('shows the audit log with an intact chain, and the overview', () =>
    step('audit-overview', async () => {
      await go('#/audit');
      expect(await textOf(page.getByTestId('chain-badge'))).toContain('Chain intact');
      expect(await textOf(page.locator('tbody'))).toContain('key.revoke');
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
      const secret = await secretBox.locator('input').inputValue();
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
      const rotated = await page.getByTestId('secret-once').locator('input').inputValue();
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
