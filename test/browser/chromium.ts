import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

/** Debian's chromium driven by playwright-core: no browser download. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Prints why a browser test is skipped (vitest's skip shows no reason). */
export function noteMissingChromium(test: string): void {
  if (!hasChromium) console.log(`${test} skipped: ${CHROMIUM} not found (apt-get install chromium)`);
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Collects a page's errors (uncaught, console errors, HTTP ≥ 400) into `errors` and every request
 * that leaves `origin` into `foreign` (blob: and data: URLs are the page's own): what each browser
 * test asserts is empty.
 */
export function watchPage(page: Page, origin: string, errors: string[], foreign: string[]): void {
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('request', (r) => !r.url().startsWith(origin) && !/^(blob|data):/.test(r.url()) && foreign.push(r.url()));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
}
