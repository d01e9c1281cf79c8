import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { ROOT } from '../support/server';

/** Debian's chromium package; CHROMIUM_PATH points elsewhere when needed. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go (the operator's path, step by step, and failed steps); .ci/run lists them. */
export const ARTIFACTS = join(ROOT, '.ci', 'artifacts', 'browser');

/** The laptop screen a new operator meets the console on. */
export const VIEWPORT = { width: 1366, height: 900 };

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page that records what the console asks for: every request must go to the server under test
 * (or be a data: URL), and every Content-Security-Policy violation and page error is kept.
 */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  foreignRequests: string[];
  problems: string[];
}

export async function watchedPage(browser: Browser, origin: string): Promise<WatchedPage> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: VIEWPORT, timezoneId: 'Europe/Paris', locale: 'en-GB' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await context.newPage();
  const watched: WatchedPage = { context, page, foreignRequests: [], problems: [] };
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin + '/') && !url.startsWith('data:') && !url.startsWith('blob:')) watched.foreignRequests.push(url);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) watched.problems.push(m.text());
  });
  page.on('pageerror', (e) => watched.problems.push(`page error: ${e.message}`));
  return watched;
}

/** Saves a full-page screenshot named after the step; returns its path. */
export async function screenshot(page: Page, name: string, dir = ARTIFACTS): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
