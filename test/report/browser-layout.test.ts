import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { confidenceInterval } from '../../src/evaluate/stats.js';
import type { LayersResult } from '../../src/evaluate/layers-result.js';
import { renderReport } from '../../src/report/render.js';
import { compareResult, runInfo } from './fixtures.js';

/**
 * Layout only a browser can judge: text size in charts after CSS scaling, and where the browser
 * breaks a heading. Debian's chromium through playwright-core, as in browser.test.ts.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

const NAMES = ['T-shirt/top', 'Staffordshire bullterrier', 'golden_retriever', 'Pneumonoultramicroscopic', 'Ankle boot', 'cat'];
const arm = (xs: number[]) => ({ ...confidenceInterval(xs), values: xs });
const LAYERS: LayersResult = {
  kind: 'layers', createdAt: '2026-01-01', graftVersion: 't', backend: 'wasm', source: 'runs/a', task: 't', epochs: 5, seeds: [0, 1, 2],
  points: [1, 2].map((n) => ({ n, layer: `dense_${n}`, arms: { frozen: arm([0.97, 0.99, 0.999]), 'fine-tuned': arm([0.95, 0.96, 0.99]), scratch: arm([0.93, 0.9, 0.92]) } })),
};

describe('report layout in headless Chromium', () => {
  it.skipIf(!hasChromium)('draws chart text at the same size in every report and breaks confusion headings only between words', async () => {
    const { chromium } = await import('playwright-core');
    const dir = await mkdtemp(path.join(tmpdir(), 'graft-report-layout-'));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      /** Rendered px per SVG unit of every chart: the factor its 12 px text is drawn at. */
      const scales = async (html: string, name: string): Promise<number[]> => {
        const file = path.join(dir, `${name}.html`);
        await writeFile(file, html);
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
        return page.$$eval('svg.chart', (svgs) => svgs.map((s) => s.getBoundingClientRect().width / (s as unknown as { viewBox: { baseVal: { width: number } } }).viewBox.baseVal.width));
      };
      const compare = await scales(renderReport({ title: 'c', runs: [{ name: 'b', run: runInfo({ classNames: NAMES }) }], compare: compareResult() }), 'compare');
      const layers = await scales(renderReport({ title: 'l', runs: [], layers: LAYERS }), 'layers');
      expect(compare).toHaveLength(4);
      expect(layers).toHaveLength(1);
      // The layers chart, alone in a full-width row, was drawn at about twice the others' size.
      for (const s of [...compare, ...layers]) expect(s).toBeGreaterThan(0.9 * compare[0]!);
      for (const s of [...compare, ...layers]) expect(s).toBeLessThanOrEqual(1.0001);

      await page.goto(pathToFileURL(path.join(dir, 'compare.html')).href, { waitUntil: 'load' });
      // A line of text that the browser wrapped has boxes at more than one height; a cut word overflows its cell.
      const headings = (await page.evaluate(`[...document.querySelectorAll('table.confusion thead th[scope="col"]:not(.corner)')].map((th) => ({
        text: th.textContent.replace(/ /g, ''),
        wrapped: [...th.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).filter((n) => {
          const r = document.createRange();
          r.selectNodeContents(n);
          return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size > 1;
        }).length,
        overflow: th.scrollWidth - th.clientWidth,
      }))`)) as Array<{ text: string; wrapped: number; overflow: number }>;
      expect(headings.map((h) => h.text)).toEqual(NAMES.map((n) => n.replace(/ /g, ''))); // <br> for the spaces
      for (const h of headings) expect({ text: h.text, wrapped: h.wrapped, overflow: h.overflow }).toEqual({ text: h.text, wrapped: 0, overflow: 0 });
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
