import type { Browser } from 'playwright-core';
import { TestServer } from '../support/server';
import { launch, screenshot, watchedPage, WatchedPage } from './browser';

/** Swagger UI at /docs: a pasted key lasts for the tab only, and the page runs under its CSP. */
describe('API docs page (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let w: WatchedPage;

  beforeAll(async () => {
    server = await TestServer.start();
    browser = await launch();
    w = await watchedPage(browser, server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const authorized = () => w.page.evaluate(() => JSON.stringify((window as any).ui.authSelectors.authorized().toJS()));

  it('keeps a pasted key across a reload of the tab, in sessionStorage only, and not in another tab', async () => {
    const { page } = w;
    try {
      await page.goto(`${server.url}/docs`);
      await page.locator('button.authorize').first().click();
      const scheme = page.locator('.auth-container').first();
      await scheme.locator('input').first().fill(server.adminKey);
      await scheme.locator('button.authorize').click();
      await page.locator('button.btn-done, button.close-modal').first().click();
      expect(await authorized()).toContain(server.adminKey);

      await page.reload();
      await page.locator('button.authorize').first().waitFor();
      await page.waitForFunction(() => (window as any).ui?.authSelectors.authorized().size > 0, undefined, { timeout: 10000 });
      expect(await authorized()).toContain(server.adminKey);
      const storage = await page.evaluate(() => ({ local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }) }));
      expect(storage.local).not.toContain(server.adminKey);
      expect(storage.session).toContain(server.adminKey);

      // A new tab starts signed out.
      const other = await w.context.newPage();
      await other.goto(`${server.url}/docs`);
      await other.locator('button.authorize').first().waitFor();
      expect(await other.evaluate(() => JSON.stringify((window as any).ui.authSelectors.authorized()?.toJS() ?? {}))).not.toContain(server.adminKey);
      await other.close();

      // Signing out forgets it.
      await page.locator('button.authorize').first().click();
      await page.locator('.auth-container').first().locator('button', { hasText: 'Logout' }).click();
      expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }))).not.toContain(server.adminKey);

      expect(w.problems).toEqual([]);
      expect(w.foreignRequests).toEqual([]);
    } catch (err) {
      await screenshot(page, 'docs-authorization');
      throw err;
    }
  });
});
