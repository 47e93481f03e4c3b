import { channelsLast, configOf, image, onnxAxis, reluCapped, type LayerEmitter } from './context.js';
import { pair, tfPads } from './tf-padding.js';
import { unsupported } from './unsupported.js';

/** Layers without weights: activations, pooling, padding, reshaping, merging, inference no-ops. */

const number = (v: unknown, what: string): number => (typeof v === 'number' && Number.isFinite(v) ? v : unsupported(`${what} ${JSON.stringify(v)}`));

/** Noise layers: the identity at inference; the training form does not translate them. */
const noise: LayerEmitter = (ctx, layer, [x]) => (ctx.training ? unsupported(`${layer.getClassName()} in training mode`) : x!.name);

/**
 * Dropout: the identity at inference. In the training form, x × a mask fed per step (the mask
 * TF.js would draw, made by the stepper), NHWC as drawn; rates 0 and 1 change nothing, as in TF.js.
 */
const dropout: LayerEmitter = (ctx, layer, [x]) => {
  const rec = ctx.training;
  const c = configOf(layer);
  const rate = number(c.rate, 'rate');
  if (!rec || rate <= 0 || rate >= 1) return x!.name;
  if (c.noiseShape != null) unsupported('a noise shape');
  const input = ctx.g.input(`mask${rec.dropouts.length}`, ['n', ...x!.shape]);
  rec.dropouts.push({ layer, rate, input, shape: x!.shape });
  const mask = x!.shape.length === 3 ? ctx.g.op('Transpose', [input], { perm: [0, 3, 1, 2] }) : input;
  return ctx.g.op('Mul', [x!.name, mask], undefined, 'dropout');
};

const activation: LayerEmitter = (ctx, layer, [x]) => ctx.activate(String(configOf(layer).activation), x!.name);

/** ReLU layer: relu, capped at maxValue when it has one (relu6 in MobileNetV2). */
const relu: LayerEmitter = (ctx, layer, [x]) => {
  const max = configOf(layer).maxValue;
  if (max === undefined || max === null) return ctx.g.op('Relu', [x!.name]);
  if (ctx.training) return reluCapped(ctx.g, x!.name, number(max, 'maxValue'));
  return ctx.g.op('Clip', [x!.name, ctx.g.scalar(0), ctx.g.scalar(number(max, 'maxValue'))]);
};

const leakyRelu: LayerEmitter = (ctx, layer, [x]) => ctx.g.op('LeakyRelu', [x!.name], { alpha: { float: number(configOf(layer).alpha ?? 0.3, 'alpha') } });

const elu: LayerEmitter = (ctx, layer, [x]) => {
  const alpha = number(configOf(layer).alpha ?? 1, 'alpha');
  // The training form writes ELU with ops the autodiff differentiates.
  if (ctx.training && alpha === 1) return ctx.activate('elu', x!.name);
  if (ctx.training) unsupported(`alpha ${alpha} in training mode`);
  return ctx.g.op('Elu', [x!.name], { alpha: { float: alpha } });
};

/**
 * TF.js's Softmax layer defaults to axis 1, not Keras's −1; whatever the axis, map it. As the
 * model's output over the last axis (what train/forward.ts takes logits from) a logits graph leaves it out.
 */
const softmax: LayerEmitter = (ctx, layer, [x]) => {
  const axis = configOf(layer).axis;
  if (ctx.logits && ctx.atOutput && (axis === undefined || axis === -1)) return ctx.activate('softmax', x!.name);
  return ctx.g.op('Softmax', [x!.name], { axis: onnxAxis(axis ?? 1, x!.shape.length) });
};

/** x · scale + offset (graft's 'tf' preprocessing: 2x − 1). */
const rescaling: LayerEmitter = (ctx, layer, [x]) => {
  const c = configOf(layer);
  const scaled = ctx.g.op('Mul', [x!.name, ctx.g.scalar(number(c.scale, 'scale'))]);
  const offset = number(c.offset ?? 0, 'offset');
  return offset === 0 ? scaled : ctx.g.op('Add', [scaled, ctx.g.scalar(offset)]);
};

const zeroPadding2d: LayerEmitter = (ctx, layer, [x]) => {
  image(x!);
  const p = channelsLast(layer).padding;
  const rows = Array.isArray(p) ? p : [p, p];
  const [[top, bottom], [left, right]] = rows.map((r) => (Array.isArray(r) ? [r[0], r[1]] : [r, r])) as [[unknown, unknown], [unknown, unknown]];
  const pads = [top, left, bottom, right].map((v) => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : unsupported(`padding ${JSON.stringify(p)}`)));
  return ctx.g.op('Pad', [x!.name, ctx.g.ints([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])], undefined, 'pad');
};

/** TF pooling; padded positions never count (MaxPool ignores them, AveragePool divides by the pixels inside). */
function pooling(op: 'MaxPool' | 'AveragePool'): LayerEmitter {
  return (ctx, layer, [x]) => {
    const c = channelsLast(layer);
    const [h, w] = image(x!);
    const kernel = pair(c.poolSize, 'pool size');
    const strides = pair(c.strides ?? c.poolSize, 'strides');
    const attrs = { kernel_shape: kernel, strides, pads: tfPads(c.padding, [h, w], kernel, strides) };
    // TF.js averages a padded window over its real pixels but its gradient divides by the whole
    // window; autodiff would give the true gradient, and the two engines would train differently.
    if (op === 'AveragePool' && ctx.training && attrs.pads.some((p) => p > 0)) unsupported("'same' padding in training (TF.js's gradient divides a padded window by its full size)");
    if (op === 'MaxPool' && ctx.training) {
      // With its Indices output the gradient reads the positions instead of running the pool again.
      const y = ctx.g.op(op, [x!.name], attrs, 'pool');
      const node = ctx.g.graph.nodes[ctx.g.graph.nodes.length - 1]!;
      node.outputs.push(`${y}_indices`);
      return y;
    }
    return ctx.g.op(op, [x!.name], op === 'AveragePool' ? { ...attrs, count_include_pad: 0 } : attrs, 'pool');
  };
}

function globalPooling(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerEmitter {
  return (ctx, layer, [x], out) => {
    channelsLast(layer);
    image(x!);
    const pooled = ctx.g.op(op, [x!.name], undefined, 'pool');
    // [n, C, 1, 1]; unless the layer keeps the dimensions, TF gives [n, C].
    return out.length === 1 ? ctx.g.op('Flatten', [pooled], { axis: 1 }) : pooled;
  };
}

/** Flatten in TF's order (NHWC row-major): back to channels-last first, unless there is one pixel. */
const flatten: LayerEmitter = (ctx, _layer, [x]) => {
  const rank = x!.shape.length;
  if (rank === 1) return x!.name;
  const [h, w] = image(x!);
  const nhwc = h * w === 1 ? x!.name : ctx.g.op('Transpose', [x!.name], { perm: [0, 2, 3, 1] });
  return ctx.g.op('Flatten', [nhwc], { axis: 1 });
};

/** Element-wise merges of equal shapes (TF.js would broadcast unequal ones; not translated). */
function merge(op: string, variadic: boolean): LayerEmitter {
  return (ctx, layer, inputs) => {
    const first = inputs[0]!;
    if (inputs.some((v) => v.shape.join() !== first.shape.join())) unsupported(`inputs of different shapes (${inputs.map((v) => `[${v.shape.join(', ')}]`).join(', ')})`);
    if (inputs.length === 1) return first.name;
    if (variadic) return ctx.g.op(op, inputs.map((v) => v.name), undefined, layer.getClassName().toLowerCase());
    return inputs.slice(1).reduce((acc, v) => ctx.g.op(op, [acc, v.name]), first.name);
  };
}

const concatenate: LayerEmitter = (ctx, layer, inputs) => {
  const rank = inputs[0]!.shape.length;
  if (inputs.some((v) => v.shape.length !== rank)) unsupported('inputs of different ranks');
  return ctx.g.op('Concat', inputs.map((v) => v.name), { axis: onnxAxis(configOf(layer).axis ?? -1, rank) });
};

export const PLAIN_LAYERS: Record<string, LayerEmitter> = {
  Dropout: dropout,
  GaussianNoise: noise,
  GaussianDropout: noise,
  AlphaDropout: noise,
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  ELU: elu,
  Softmax: softmax,
  Rescaling: rescaling,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPool'),
  Flatten: flatten,
  Add: merge('Add', false),
  Multiply: merge('Mul', false),
  Average: merge('Mean', true),
  Maximum: merge('Max', true),
  Minimum: merge('Min', true),
  Concatenate: concatenate,
};
