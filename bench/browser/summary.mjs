// Medians, browser ÷ Node ratios and the accuracy check of bench/browser-node.mjs.

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Short column names for the table. */
const LABELS = { unfrozenFeatures: 'u-feats' };
export const PHASES = ['source', 'transfer', 'frozen', 'features', 'unfrozen', 'unfrozenFeatures', 'evaluate', 'total'];

/** Per arm, medians of every phase; per browser/Node pair, the median of per-round ratios; accuracy agreement. */
export function summarise(runs, arms, specs) {
  const byArm = {};
  for (const arm of arms) {
    const rs = runs.filter((r) => r.arm === arm && r.result);
    if (rs.length === 0) continue;
    byArm[arm] = {
      runs: rs.length,
      times: Object.fromEntries(PHASES.map((p) => [p, median(rs.map((r) => r.result.times[p]))])),
      accuracy: median(rs.map((r) => r.result.accuracy)),
      peakRssMb: median(rs.map((r) => r.result.peakRssMb)),
    };
  }
  // Per round, browser ÷ Node arm; the median of those ratios (background load hits rounds unevenly).
  const ratios = {};
  for (const nodeArm of ['node', 'node-tfjs']) {
    for (const browserArm of arms.filter((a) => specs[a].side === 'browser')) {
      const perRound = PHASES.map((p) => {
        const rs = [];
        for (const round of new Set(runs.map((r) => r.round))) {
          const b = runs.find((r) => r.round === round && r.arm === browserArm)?.result;
          const n = runs.find((r) => r.round === round && r.arm === nodeArm)?.result;
          if (b && n && n.times[p] > 0) rs.push(b.times[p] / n.times[p]);
        }
        return [p, rs.length ? median(rs) : null];
      });
      if (perRound.some(([, v]) => v !== null)) ratios[`${browserArm}/${nodeArm}`] = Object.fromEntries(perRound);
    }
  }
  // Test accuracy must agree across sides within sampling noise: two binomial standard errors of the test set.
  const accuracy = {};
  for (const [arm, a] of Object.entries(byArm)) {
    if (specs[arm].side !== 'browser') continue;
    const nodeArm = specs[arm].engine === 'tfjs' ? 'node-tfjs' : 'node';
    const n = byArm[nodeArm];
    const tests = runs.find((r) => r.arm === arm && r.result)?.result.testImages ?? 0;
    if (!n || tests === 0) continue;
    const p = (a.accuracy + n.accuracy) / 2;
    const noise = 2 * Math.sqrt((p * (1 - p)) / tests);
    accuracy[`${arm}-${nodeArm}`] = { difference: a.accuracy - n.accuracy, noise, agrees: Math.abs(a.accuracy - n.accuracy) <= noise };
  }
  return { byArm, ratios, accuracy };
}

export function printSummary({ byArm, ratios, accuracy }) {
  const f = (v, d = 2) => (v === null || v === undefined ? '—' : v.toFixed(d));
  console.log(`\nmedians (s)     ${PHASES.map((p) => (LABELS[p] ?? p).padStart(9)).join('')}   accuracy  peak RSS MB`);
  for (const [arm, a] of Object.entries(byArm)) console.log(`${arm.padEnd(16)}${PHASES.map((p) => f(a.times[p]).padStart(9)).join('')}   ${f(a.accuracy, 4).padStart(8)}  ${f(a.peakRssMb, 0).padStart(11)}`);
  console.log(`\nratio (median of per-round ratios)`);
  for (const [name, r] of Object.entries(ratios)) console.log(`${name.padEnd(26)}${PHASES.map((p) => `${p} ${f(r[p])}`).join('  ')}`);
  console.log('\ntest accuracy, browser − Node (same engine), against 2 binomial standard errors');
  for (const [name, a] of Object.entries(accuracy)) console.log(`${name.padEnd(26)}${a.difference >= 0 ? '+' : ''}${a.difference.toFixed(4)} (noise ±${a.noise.toFixed(4)}): ${a.agrees ? 'agrees' : 'DIFFERS'}`);
}

