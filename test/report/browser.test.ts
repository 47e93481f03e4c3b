import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildExamples } from '../../src/report/examples.js';
import { renderReport } from '../../src/report/render.js';
import { compareResult, FASHION8, runInfo } from './fixtures.js';

/**
 * The report in a real browser: Debian's chromium driven by playwright-core (no browser download).
 * Checks what a unit test cannot: the SVG actually lays out, nothing errors, nothing is fetched.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`report browser test skipped: ${CHROMIUM} not found (apt-get install chromium)`);

/** Six 28×28 "garments" (a bright blob that moves), scored wrong with falling confidence. */
function examples(): ReturnType<typeof buildExamples> {
  const n = 6;
  const x = new Float32Array(n * 28 * 28);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) x[i * 784 + r * 28 + c] = Math.max(0, 1 - Math.hypot(r - 8 - 2 * i, c - 14) / (6 + i));
  }
  const probs = new Float32Array(n * 8).fill(0.02);
  const labels = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) probs[i * 8 + ((i + 2) % 8)] = 0.9 - 0.08 * i;
  return buildExamples(x, [28, 28], probs, 8, labels, FASHION8);
}

describe('report in headless Chromium', () => {
  it.skipIf(!hasChromium)('renders charts, verdict and images with no errors and no requests', async () => {
    const { chromium } = await import('playwright-core');
    const dir = await mkdtemp(path.join(tmpdir(), 'graft-report-browser-'));
    const file = path.join(dir, 'report.html');
    const images = examples().images;
    expect(images).toHaveLength(6);
    await writeFile(file, renderReport({ title: 'graft compare: fashion-mnist:binary=shirt,sandal', runs: [{ name: 'model-b', run: runInfo(), examples: images }], compare: compareResult([10, 50, 'all'], 5) }));

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      const failed: string[] = [];
      const fetched: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('requestfailed', (r) => failed.push(`${r.url().slice(0, 80)}: ${r.failure()?.errorText}`));
      page.on('request', (r) => !/^(file|data):/.test(r.url()) && fetched.push(r.url()));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

      // 2 learning curves + 2 compare charts, each with drawn marks and a real size on screen.
      const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({ marks: s.querySelectorAll('path, circle').length, width: s.getBoundingClientRect().width, height: s.getBoundingClientRect().height })));
      expect(charts.length).toBeGreaterThanOrEqual(4);
      for (const c of charts) {
        expect(c.marks).toBeGreaterThan(0);
        expect(c.width).toBeGreaterThan(250);
        expect(c.height).toBeGreaterThan(120);
      }
      await expect(page.getByText(/At 10 images per class, transfer lowered the test error/).isVisible()).resolves.toBe(true);
      expect(await page.locator('table.confusion tbody tr').count()).toBe(8);
      const decoded = await page.$$eval('.grid img', (imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth));
      expect(decoded).toEqual([28, 28, 28, 28, 28, 28]);

      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: path.join('test-artifacts', 'report.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
      expect(fetched).toEqual([]);
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
