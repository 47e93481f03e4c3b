import { describe, expect, it } from 'vitest';
import { blockKey, modulePath, stripWrapper } from '../../../src/io/onnx/module-paths.js';

describe('module paths and block keys', () => {
  const inits = new Set(['layer4.1.conv2.weight', 'onnx::Conv_12', 'val_3', 'features.3.block.0.0.weight']);

  it('reads TorchScript node names and dynamo parameter names alike', () => {
    expect(modulePath({ op: 'Conv', inputs: [], outputs: [], name: '/layer4/layer4.1/conv2/Conv' }, inits)).toEqual(['layer4', '1', 'conv2']);
    expect(modulePath({ op: 'Shape', inputs: [], outputs: [], name: '/bert/encoder/layer.0/attention/self/Shape' }, inits)).toEqual(['bert', 'encoder', 'layer', '0', 'attention', 'self']);
    expect(modulePath({ op: 'Conv', inputs: ['x', 'layer4.1.conv2.weight'], outputs: [], name: 'node_conv2d_5' }, inits)).toEqual(['layer4', '1', 'conv2']);
    // Exporter-made tensors name no module.
    expect(modulePath({ op: 'Conv', inputs: ['x', 'onnx::Conv_12', 'val_3'], outputs: [], name: 'node_Conv_7' }, inits)).toBeUndefined();
    expect(modulePath({ op: 'Flatten', inputs: ['x'], outputs: [], name: '/Flatten' }, inits)).toBeUndefined();
  });

  it('a block is the first component, with the index for lists of blocks', () => {
    expect(blockKey(['layer4', '1', 'conv2'])).toBe('layer4');
    expect(blockKey(['features', '3', 'block', '0', '0'])).toBe('features.3');
    expect(blockKey(['encoder', 'layer', '0', 'attention', 'self'])).toBe('encoder.layer.0');
    // A list of single layers stays one block.
    expect(blockKey(['features', '0'])).toBe('features');
    expect(blockKey(['conv1'])).toBe('conv1');
  });

  it('strips a wrapper holding most of the model (bert), not a list (features)', () => {
    const bert = [['bert', 'embeddings', 'word_embeddings'], ['bert', 'encoder', 'layer', '0', 'attention'], ['bert', 'encoder', 'layer', '1', 'output'], ['classifier']];
    expect(stripWrapper(bert).map((p) => blockKey(p!))).toEqual(['embeddings', 'encoder.layer.0', 'encoder.layer.1', 'classifier']);
    const mobile = [['features', '0', '0'], ['features', '1', 'block', '0'], ['classifier', '0']];
    expect(stripWrapper(mobile)).toEqual(mobile);
  });
});
