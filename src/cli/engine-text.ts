import type { EngineUse } from '../train/stepper.js';

/** The engine that trained a phase, as the terminal shows it: "onnxruntime", or "TF.js" with why not onnxruntime. */
export function engineName(use: EngineUse | undefined, withReason = true): string {
  if (!use) return 'unknown';
  if (use.engine === 'onnxruntime') return 'onnxruntime';
  return withReason && use.reason ? `TF.js (${use.reason})` : 'TF.js';
}

/** One line naming the engine of each phase, e.g. "Engine: frozen phase onnxruntime, unfrozen phase TF.js (…)". */
export function phaseEngines(phases: ReadonlyArray<{ name: string; engine?: EngineUse | undefined }>): string {
  const named = phases.map((p) => ({ name: p.name, text: engineName(p.engine) }));
  if (named.length === 1 || new Set(named.map((p) => p.text)).size === 1) return `Engine: ${named[0]?.text ?? 'none (no phase ran)'}`;
  return `Engine: ${named.map((p) => `${p.name} phase ${p.text}`).join(', ')}`;
}

/** Under a table of phases: why TF.js trained where onnxruntime could not, each reason once (empty when none). */
export function fallbackReasons(rows: ReadonlyArray<{ model: string; phase: string; engine?: EngineUse | undefined }>): string {
  const byReason = new Map<string, string[]>();
  for (const r of rows) {
    if (r.engine?.engine !== 'tfjs' || !r.engine.reason) continue;
    byReason.set(r.engine.reason, [...(byReason.get(r.engine.reason) ?? []), `${r.model} ${r.phase}`]);
  }
  return [...byReason].map(([reason, where]) => `TF.js for ${where.join(', ')}: ${reason}\n`).join('');
}
