import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

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
