import { esc } from './escape.js';
import type { Linear } from './scale.js';

/** The parts every chart shares: the accessible <svg> wrapper, the y axis with grid, the legend. */

export const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';
export const INK = '#1f2933';
export const MUTED = '#52606d';
export const GRID = '#e4e7eb';

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/**
 * role="img" + <title>/<desc> so screen readers announce the chart by name and summary. No xmlns:
 * the SVG is inline in HTML, and the report must contain no URLs at all.
 */
export function svgDocument(box: Box, title: string, desc: string, body: string[]): string {
  return [
    // The stylesheet fits a chart to its column; max-width keeps a lone chart in a wide column from
    // being scaled up, so 12 px text stays 12 px in every chart of every report.
    `<svg viewBox="0 0 ${box.width} ${box.height}" width="${box.width}" height="${box.height}" style="max-width: ${box.width}px" role="img" aria-label="${esc(title)}" class="chart" ${FONT} font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<desc>${esc(desc)}</desc>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Horizontal grid lines with labels on the left, and the rotated axis title. */
export function yAxis(box: Box, y: Linear, ticks: readonly number[], format: (v: number) => string, label: string): string {
  const x0 = box.left;
  const x1 = box.width - box.right;
  const lines = ticks.map((t) => {
    const py = y(t).toFixed(1);
    return `<line x1="${x0}" x2="${x1}" y1="${py}" y2="${py}" stroke="${GRID}"/><text x="${x0 - 6}" y="${py}" dy="0.32em" text-anchor="end" fill="${MUTED}">${esc(format(t))}</text>`;
  });
  const cy = (box.top + box.height - box.bottom) / 2;
  lines.push(`<text transform="translate(14 ${cy.toFixed(1)}) rotate(-90)" text-anchor="middle" fill="${INK}">${esc(label)}</text>`);
  return `<g class="y-axis">${lines.join('')}</g>`;
}

/** The x axis line and its title under the plot. */
export function xAxisLine(box: Box, label: string): string {
  const yb = box.height - box.bottom;
  return `<g class="x-axis"><line x1="${box.left}" x2="${box.width - box.right}" y1="${yb}" y2="${yb}" stroke="${MUTED}"/><text x="${(box.left + box.width - box.right) / 2}" y="${box.height - 6}" text-anchor="middle" fill="${INK}">${esc(label)}</text></g>`;
}

export interface LegendItem {
  name: string;
  color: string;
  /** Dashed line sample (validation curves); otherwise solid. */
  dashed?: boolean;
  /** A dot instead of a line sample (interval charts). */
  dot?: boolean;
}

/** One row of samples above the plot, left-aligned with it; names are escaped. */
export function legend(box: Box, items: readonly LegendItem[]): string {
  let x = box.left;
  const y = 14;
  const parts = items.map((it) => {
    const sample = it.dot
      ? `<circle cx="${x + 9}" cy="${y}" r="4.5" fill="${it.color}"/>`
      : `<line x1="${x}" x2="${x + 20}" y1="${y}" y2="${y}" stroke="${it.color}" stroke-width="2.5"${it.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
    const text = `<text x="${x + 26}" y="${y}" dy="0.32em" fill="${INK}">${esc(it.name)}</text>`;
    // Width estimate (no layout engine here): about 7 px per character at 12 px.
    x += 26 + it.name.length * 7 + 18;
    return sample + text;
  });
  return `<g class="legend">${parts.join('')}</g>`;
}
