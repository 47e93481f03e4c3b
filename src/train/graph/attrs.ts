/** Attribute readers and node naming for the training compiler: the shared ones (engine/onnx/node-attrs.ts). */
export { describeNode, floatAttr, intAttr, intsAttr, stringAttr } from '../../engine/onnx/node-attrs.js';
