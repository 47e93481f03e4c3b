/** `hf:` model sources: ONNX models from the Hugging Face hub layout, cached and resumable. */
export { isHubSpec, parseHubSpec, type HubSpec } from './spec.js';
export { resolveHubModel, type HubModel, type HubResolveOptions } from './resolve.js';
export { hubCacheDir, DEFAULT_HUB_ENDPOINT } from './settings.js';
