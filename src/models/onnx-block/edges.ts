/**
 * Names of the layout transposes graft puts at the edges of an NCHW source's blocks: between
 * blocks images travel channels-last, as in every graft TF.js model. The onnxruntime translation,
 * whose images are channels-first already, recognises and drops them.
 */
export const TO_NCHW = 'graft/to_nchw';
export const TO_NHWC = 'graft/to_nhwc';
