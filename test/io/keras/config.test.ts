import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { normalizeKerasConfig } from '../../../src/io/keras/config.js';
import { snakeCase } from '../../../src/io/keras/weights.js';
import { useBackend } from '../../helpers.js';

beforeAll(useBackend);

const build = async (raw: unknown): Promise<tfl.LayersModel> =>
  tfl.models.modelFromJSON({ modelTopology: normalizeKerasConfig(raw, 'test').topology } as Parameters<typeof tfl.models.modelFromJSON>[0]);

// A Keras 2.0–2.2 Sequential: the config is a bare list, the input shape sits on the first layer,
// initializers use the old VarianceScaling form.
const keras22 = {
  class_name: 'Sequential',
  config: [
    { class_name: 'Flatten', config: { name: 'flatten_1', trainable: true, batch_input_shape: [null, 4, 4], dtype: 'float32', data_format: 'channels_last' } },
    {
      class_name: 'Dense',
      config: {
        name: 'dense_1', trainable: true, units: 3, activation: 'softmax', use_bias: true,
        kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1.0, mode: 'fan_avg', distribution: 'uniform', seed: null, dtype: 'float32' } },
        bias_initializer: { class_name: 'Zeros', config: { dtype: 'float32' } },
        kernel_regularizer: { class_name: 'L1L2', config: { l1: 0.0, l2: 0.01 } }, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
      },
    },
  ],
};

// A Keras 2 functional model: inbound nodes as nested lists.
const keras2Functional = {
  class_name: 'Model',
  config: {
    name: 'model_1',
    layers: [
      { name: 'in', class_name: 'InputLayer', config: { batch_input_shape: [null, 6], dtype: 'float32', sparse: false, name: 'in' }, inbound_nodes: [] },
      { name: 'a', class_name: 'Dense', config: { name: 'a', units: 4, activation: 'relu' }, inbound_nodes: [[['in', 0, 0, {}]]] },
      { name: 'b', class_name: 'Dense', config: { name: 'b', units: 4, activation: 'linear' }, inbound_nodes: [[['in', 0, 0, {}]]] },
      { name: 'sum', class_name: 'Add', config: { name: 'sum' }, inbound_nodes: [[['a', 0, 0, {}], ['b', 0, 0, {}]]] },
      { name: 'out', class_name: 'Dense', config: { name: 'out', units: 2, activation: 'sigmoid' }, inbound_nodes: [[['sum', 0, 0, {}]]] },
    ],
    input_layers: [['in', 0, 0]],
    output_layers: [['out', 0, 0]],
  },
};

describe('Keras config normalisation', () => {
  it('builds a Keras 2.2 bare-list Sequential with old initializer configs', async () => {
    const m = await build(keras22);
    expect(m.inputs[0]!.shape).toEqual([null, 4, 4]);
    expect(m.outputs[0]!.shape).toEqual([null, 3]);
  });

  it('builds a Keras 2 functional graph with a merge layer', async () => {
    const m = await build(keras2Functional);
    expect(m.layers.map((l) => l.name)).toEqual(['in', 'a', 'b', 'sum', 'out']);
    const y = m.predict(tf.ones([2, 6])) as tf.Tensor;
    expect(y.shape).toEqual([2, 2]);
  });

  it('refuses unsupported and custom layers, naming the class, the place and the supported list', () => {
    const lstm = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'LSTM', config: { name: 'rnn', units: 4 } }] } };
    expect(() => normalizeKerasConfig(lstm, 'f.h5')).toThrow(/layer "rnn" is a LSTM, which graft cannot load\. Supported layers: InputLayer, Dense/);
    const custom = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'MyBlock', registered_name: 'my_pkg>MyBlock', config: { name: 'blk' } }] } };
    expect(() => normalizeKerasConfig(custom, 'f.keras')).toThrow(/custom object "my_pkg>MyBlock".*code is not in the file/);
  });

  it('refuses a leaky or thresholded ReLU, which TF.js would silently compute as a plain one', async () => {
    const relu = (extra: Record<string, unknown>): unknown => ({
      class_name: 'Sequential',
      config: { name: 's', layers: [{ class_name: 'ReLU', config: { name: 'act', batch_input_shape: [null, 3], max_value: 6, ...extra } }] },
    });
    expect(() => normalizeKerasConfig(relu({ negative_slope: 0.1, threshold: 0 }), 'f.h5')).toThrow(/layer "act" is a ReLU with negative_slope=0.1.*Cut the model before this layer/);
    expect(() => normalizeKerasConfig(relu({ threshold: 1 }), 'f.h5')).toThrow(/threshold=1/);
    const plain = await build(relu({ negative_slope: 0, threshold: 0 }));
    expect(tf.tidy(() => (plain.predict(tf.tensor2d([[-1, 3, 9]])) as tf.Tensor).arraySync())).toEqual([[0, 3, 6]]);
    plain.dispose();
  });

  it('refuses activations it cannot map and configs that are not models', () => {
    const odd = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, activation: 'leaky_relu', batch_input_shape: [null, 2] } }] } };
    expect(() => normalizeKerasConfig(odd, 'f.h5')).toThrow(/activation "leaky_relu"/);
    expect(() => normalizeKerasConfig({ class_name: 'Dense', config: {} }, 'f.h5')).toThrow(/not a model/);
    expect(() => normalizeKerasConfig('nonsense', 'f.h5')).toThrow(/not a Keras model/);
  });

  it("names weight groups as Keras 3 does (naming.to_snake_case)", () => {
    expect(['Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'SeparableConv2D', 'GlobalAveragePooling2D', 'Functional'].map(snakeCase)).toEqual([
      'conv2d', 'depthwise_conv2d', 'batch_normalization', 're_lu', 'separable_conv2d', 'global_average_pooling2d', 'functional',
    ]);
  });
});
