import { GraftError, describeValue } from '../errors.js';

export type ScheduleKind = 'constant' | 'step' | 'cosine' | 'one-cycle';

/**
 * A learning-rate schedule over one phase (one `fit`). The phase's optimizer rate is the peak; each
 * layer's discriminative scale multiplies what the schedule gives.
 * - constant: the rate throughout (default).
 * - step: per epoch, rate × factor^⌊e / every⌋ (PyTorch StepLR stepped once an epoch).
 * - cosine: per epoch, floor + (rate − floor)(1 + cos(π e / E)) / 2 over the phase's E epochs
 *   (PyTorch CosineAnnealingLR, T_max = E, eta_min = floor, stepped once an epoch).
 * - one-cycle: per step, PyTorch OneCycleLR's cosine form (max_lr = rate, pct_start, div_factor 25,
 *   final_div_factor 1e4, three_phase off; rates only, momentum is not cycled).
 * - warmup: the first `warmup` epochs rise linearly per step, (s + 1)/W × the rate over their W steps
 *   (PyTorch LinearLR from 1/W); the main schedule then runs over the remaining epochs
 *   (PyTorch SequentialLR). Not with one-cycle, which warms up by itself.
 */
export interface ScheduleSpec {
  /** Default 'constant'. */
  kind?: ScheduleKind;
  /** step: epochs between drops. Required for step. */
  every?: number;
  /** step: multiplier at each drop, in (0, 1]. Required for step. */
  factor?: number;
  /** cosine: the rate it anneals towards (absolute, below the phase's rate). Default 0. */
  floor?: number;
  /** one-cycle: share of the steps spent rising. Default 0.3 (PyTorch). */
  pctStart?: number;
  /** Whole epochs of linear warm-up before the main schedule. Default 0. */
  warmup?: number;
}

/** A spec, or its text form as the CLI takes it (see SCHEDULE_FORMS). */
export type ScheduleOption = ScheduleSpec | string;

export interface ResolvedSchedule {
  kind: ScheduleKind;
  every: number;
  factor: number;
  floor: number;
  pctStart: number;
  warmup: number;
}

export const ONE_CYCLE = { pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 } as const;

export const SCHEDULE_FORMS = 'constant | step:EVERY,FACTOR | cosine[:FLOOR] | one-cycle[:PCT_START], each optionally with ,warmup:EPOCHS (e.g. cosine,warmup:1)';

const refuse = (what: string, received: unknown): GraftError =>
  new GraftError('BAD_ARGUMENT', `Bad learning-rate schedule: ${what}; received ${describeValue(received)}. Accepted forms: ${SCHEDULE_FORMS}.`);

/** Reads the text form, e.g. "step:3,0.5", "cosine:1e-5,warmup:2", "one-cycle". */
export function parseSchedule(text: string): ScheduleSpec {
  const spec: ScheduleSpec = {};
  // Commas separate both items and a kind's arguments: a bare number continues the item before it.
  const items: string[][] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === '') throw refuse('an empty item', text);
    const [head, ...rest] = part.split(':');
    if (/^[-+.\d]/.test(part) && items.length > 0) items[items.length - 1]!.push(part);
    else items.push([head!.toLowerCase(), ...(rest.length > 0 ? [rest.join(':')] : [])]);
  }
  const num = (s: string | undefined, what: string): number => {
    const v = s === undefined || s.trim() === '' ? NaN : Number(s);
    if (!Number.isFinite(v)) throw refuse(`${what} is not a number`, text);
    return v;
  };
  for (const [name, ...args] of items) {
    const kind = name === 'onecycle' || name === 'one_cycle' ? 'one-cycle' : name;
    if (kind === 'warmup') {
      if (args.length !== 1) throw refuse('warmup takes one value, its epochs (warmup:1)', text);
      if (spec.warmup !== undefined) throw refuse('warmup appears twice', text);
      spec.warmup = num(args[0], 'the warm-up epochs');
      continue;
    }
    if (kind !== 'constant' && kind !== 'step' && kind !== 'cosine' && kind !== 'one-cycle') throw refuse(`unknown item ${JSON.stringify(name)}`, text);
    if (spec.kind !== undefined) throw refuse(`two schedules (${spec.kind} and ${kind}); combine one of them with warmup only`, text);
    spec.kind = kind;
    if (kind === 'constant' && args.length > 0) throw refuse('constant takes no values', text);
    if (kind === 'step') {
      if (args.length !== 2) throw refuse('step takes two values, EVERY epochs and FACTOR (step:3,0.5)', text);
      spec.every = num(args[0], 'step EVERY');
      spec.factor = num(args[1], 'step FACTOR');
    }
    if (kind === 'cosine' && args.length > 0) {
      if (args.length > 1) throw refuse('cosine takes at most one value, its floor (cosine:1e-5)', text);
      spec.floor = num(args[0], 'the cosine floor');
    }
    if (kind === 'one-cycle' && args.length > 0) {
      if (args.length > 1) throw refuse('one-cycle takes at most one value, pct_start (one-cycle:0.3)', text);
      spec.pctStart = num(args[0], 'one-cycle pct_start');
    }
  }
  return spec;
}

/** Checks a schedule on its own (what does not depend on the phase); text forms are parsed. */
export function resolveSchedule(option: ScheduleOption | undefined): ResolvedSchedule {
  const spec = typeof option === 'string' ? parseSchedule(option) : (option ?? {});
  const s: ResolvedSchedule = {
    kind: spec.kind ?? 'constant',
    every: spec.every ?? 0,
    factor: spec.factor ?? 1,
    floor: spec.floor ?? 0,
    pctStart: spec.pctStart ?? ONE_CYCLE.pctStart,
    warmup: spec.warmup ?? 0,
  };
  const shown = typeof option === 'string' ? option : spec;
  if (!['constant', 'step', 'cosine', 'one-cycle'].includes(s.kind)) throw refuse(`unknown kind ${JSON.stringify(s.kind)}`, shown);
  if (s.kind === 'step') {
    if (spec.every === undefined || spec.factor === undefined) throw refuse('step needs both EVERY (epochs) and FACTOR', shown);
    if (!Number.isInteger(s.every) || s.every < 1) throw refuse('step EVERY must be a whole number of epochs ≥ 1', shown);
    if (!(s.factor > 0 && s.factor <= 1)) throw refuse('step FACTOR must be in (0, 1]', shown);
  }
  if (!(s.floor >= 0) || !Number.isFinite(s.floor)) throw refuse('the cosine floor must be a rate ≥ 0', shown);
  if (!(s.pctStart > 0 && s.pctStart < 1)) throw refuse('one-cycle pct_start must be in (0, 1)', shown);
  if (!Number.isInteger(s.warmup) || s.warmup < 0) throw refuse('warmup must be a whole number of epochs ≥ 0', shown);
  if (s.warmup > 0 && s.kind === 'one-cycle') throw refuse('one-cycle warms up by itself (pct_start); drop warmup', shown);
  return s;
}

/** Checks a schedule against its phase: the rate it scales and the phase's length. */
export function checkScheduleFits(s: ResolvedSchedule, rate: number, epochs: number, phase: string): void {
  const where = `Phase "${phase}"`;
  if (epochs > 0 && s.warmup >= epochs) {
    throw new GraftError('BAD_ARGUMENT', `${where}: a warm-up of ${s.warmup} epochs leaves none of its ${epochs} epochs at the full rate; received warmup:${s.warmup}. Use fewer warm-up epochs or more epochs.`);
  }
  if (s.kind === 'cosine' && s.floor >= rate) {
    throw new GraftError('BAD_ARGUMENT', `${where}: the cosine floor ${s.floor} is not below the learning rate ${rate}; received cosine:${s.floor}. Give a floor below the rate, or leave it out (0).`);
  }
}

/** Whether the rate changes within an epoch (warm-up, one-cycle), so it is set before every step. */
export function perStep(s: ResolvedSchedule): boolean {
  return s.kind === 'one-cycle' || s.warmup > 0;
}

/** The scheduled rate of step `batch` (0-based) of `epoch` (1-based) in a phase of `epochs` × `batches` steps. */
export function scheduledRate(s: ResolvedSchedule, rate: number, epoch: number, batch: number, epochs: number, batches: number): number {
  const e = epoch - 1;
  if (e < s.warmup) {
    const total = s.warmup * batches;
    return (rate * (e * batches + batch + 1)) / total;
  }
  const me = e - s.warmup;
  const mEpochs = epochs - s.warmup;
  switch (s.kind) {
    case 'constant':
      return rate;
    case 'step':
      return rate * s.factor ** Math.floor(me / s.every);
    case 'cosine':
      return s.floor + ((rate - s.floor) * (1 + Math.cos((Math.PI * me) / mEpochs))) / 2;
    case 'one-cycle':
      return oneCycle(rate, s.pctStart, e * batches + batch, epochs * batches);
  }
}

/** PyTorch OneCycleLR (cos, two phases) at step `t` of `total`. */
function oneCycle(maxRate: number, pctStart: number, t: number, total: number): number {
  const initial = maxRate / ONE_CYCLE.divFactor;
  const min = initial / ONE_CYCLE.finalDivFactor;
  const anneal = (from: number, to: number, pct: number): number => to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
  const rise = pctStart * total - 1;
  if (t <= rise) return anneal(initial, maxRate, t / rise);
  return anneal(maxRate, min, (t - rise) / (total - 1 - rise));
}

export function describeSchedule(s: ResolvedSchedule): string {
  const main = s.kind === 'step' ? `step:${s.every},${s.factor}` : s.kind === 'cosine' ? (s.floor > 0 ? `cosine:${s.floor}` : 'cosine') : s.kind === 'one-cycle' ? (s.pctStart !== ONE_CYCLE.pctStart ? `one-cycle:${s.pctStart}` : 'one-cycle') : 'constant';
  return s.warmup > 0 ? `${main},warmup:${s.warmup}` : main;
}
