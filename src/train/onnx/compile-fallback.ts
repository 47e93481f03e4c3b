import type { OptimizerState } from '../checkpoint.js';
import { GraftError } from '../../errors.js';
import type { EngineUse, Stepper } from '../stepper.js';

/**
 * The onnxruntime stepper with TF.js behind it for one failure: onnxruntime (or onnxruntime-web,
 * whose wasm build and memory are smaller) refusing to compile graft's step graph at the first
 * refresh, before any step has run. Then the fit goes on with `tfjs()`, and its engine record says
 * why. Later refusals (a phase that unfreezes more layers) still throw: by then the optimizer's
 * state lives in the first engine.
 */
export class CompileFallback implements Stepper {
  private inner: Stepper;
  private started = false;
  private factor = 1;

  constructor(first: Stepper, private readonly tfjs: (reason: string) => Stepper) {
    this.inner = first;
  }

  get use(): EngineUse {
    return this.inner.use;
  }

  async refresh(): Promise<number> {
    if (this.started) return this.inner.refresh();
    try {
      return await this.inner.refresh();
    } catch (e) {
      if (!(e instanceof GraftError) || e.code !== 'BACKEND_UNAVAILABLE') throw e;
      this.inner.dispose();
      this.inner = this.tfjs(e.message);
      if (this.factor !== 1) await this.inner.setLearningRateFactor(this.factor);
      return this.inner.refresh();
    } finally {
      this.started = true;
    }
  }

  beginEpoch(lossSum: number, correctSum: number): void {
    this.inner.beginEpoch(lossSum, correctSum);
  }

  setLearningRate(rate: number): void {
    this.inner.setLearningRate(rate);
  }

  step(x: Float32Array, labels: Float32Array, m: number, sampleShape: readonly number[]): Promise<void> {
    return this.inner.step(x, labels, m, sampleShape);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  sums(): { loss: number; correct: number } {
    return this.inner.sums();
  }

  syncModel(): void {
    this.inner.syncModel();
  }

  setLearningRateFactor(factor: number): Promise<void> {
    this.factor = factor;
    return this.inner.setLearningRateFactor(factor);
  }

  saveState(): Promise<OptimizerState[]> {
    return this.inner.saveState();
  }

  restoreState(states: readonly OptimizerState[]): Promise<void> {
    return this.inner.restoreState(states);
  }

  dispose(): void {
    this.inner.dispose();
  }
}
