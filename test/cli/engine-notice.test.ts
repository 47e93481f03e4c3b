import { beforeEach, describe, expect, it } from 'vitest';
import { noticeSlowEngine, resetSlowEngineNotice } from '../../src/cli/engine-notice.js';

const reason = 'onnxruntime-node is not installed (…); its CPU build needs only the npm registry: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0';
const missing = async (): Promise<unknown> => reason;

beforeEach(() => resetSlowEngineNotice());

describe('the start-up note when training falls back to TF.js', () => {
  it('says which engine runs, why, and the command, once per process', async () => {
    const lines: string[] = [];
    await noticeSlowEngine('auto', missing, (t) => lines.push(t));
    await noticeSlowEngine('auto', missing, (t) => lines.push(t));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`graft: training runs on TF.js, several times slower than onnxruntime: ${reason}\n       (--engine tfjs chooses TF.js and silences this note.)\n`);
  });

  it('silent when an engine was asked for (onnxruntime then refuses with the reason), or when onnxruntime-node loads', async () => {
    const lines: string[] = [];
    await noticeSlowEngine('tfjs', missing, (t) => lines.push(t));
    await noticeSlowEngine('onnxruntime', missing, (t) => lines.push(t));
    await noticeSlowEngine('auto', async () => ({ InferenceSession: {} }), (t) => lines.push(t));
    expect(lines).toEqual([]);
  });
});
