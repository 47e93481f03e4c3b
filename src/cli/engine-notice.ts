import type { EngineChoice } from '../engine/engine-choice.js';
import { loadOnnxRuntime } from '../engine/onnx/runtime.js';
import { printErr } from './terminal-text.js';

let shown = false;

/**
 * Says on stderr, once per process, when training will run on TF.js because onnxruntime-node is
 * missing or broken: npm removes it silently when its install step fails, and TF.js is several
 * times slower. Only under auto: --engine tfjs asked for TF.js, and --engine onnxruntime refuses
 * to train without it, giving the same reason.
 */
export async function noticeSlowEngine(choice: EngineChoice, load: () => Promise<unknown> = loadOnnxRuntime, write: (text: string) => void = printErr): Promise<void> {
  if (shown || choice !== 'auto') return;
  const ort = await load();
  if (typeof ort !== 'string') return;
  shown = true;
  write(`graft: training runs on TF.js, several times slower than onnxruntime: ${ort}\n       (--engine tfjs chooses TF.js and silences this note.)\n`);
}

/** For tests: lets the next call speak again. */
export function resetSlowEngineNotice(): void {
  shown = false;
}
