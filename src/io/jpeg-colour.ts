/**
 * JPEG colour reconstruction as libjpeg(-turbo) does it by default, on planes that jpeg-js decoded.
 * Pillow, TensorFlow's decode_jpeg and browsers all upsample subsampled chroma with libjpeg's
 * "fancy" triangle filter and convert YCbCr to RGB with rounded fixed-point arithmetic; jpeg-js
 * repeats each chroma sample and truncates. On CIFAR-10's 4:2:0 JPEGs that moved pixels by up to 42
 * levels at colour edges, so a model trained on Keras- or browser-decoded images saw different
 * images in graft. Here jpeg-js only decodes the planes (colour transform off), and this file does
 * the rest; what is left is jpeg-js's inverse DCT (a level or two).
 */

/** What the decoder must do after jpeg-js, read from the frame header and APP markers. */
export interface JpegColourPlan {
  /** 'ycbcr': convert to RGB; 'rgb': the file stores RGB (Adobe transform 0, or components named R, G, B). */
  colour: 'ycbcr' | 'rgb';
  /** Per component, how many output pixels one stored sample covers: [across, down], each 1 or 2. */
  expand: Array<[number, number]>;
}

export interface JpegMarkers {
  /** Sampling factors [h, v] per component, in frame order. */
  sampling: Array<[number, number]>;
  /** Component identifiers, in frame order. */
  ids: number[];
  jfif: boolean;
  /** The Adobe APP14 colour transform byte, when the file has that marker. */
  adobeTransform?: number;
}

/**
 * The plan for a three-component JPEG whose components are each stored at full or half resolution
 * in each direction (4:4:4, 4:2:2, 4:2:0, 4:4:0): libjpeg's fancy upsampling covers those. Anything
 * else (greyscale, CMYK, 4:1:1 and odder factors) is left to jpeg-js: undefined.
 */
export function planJpegColour(m: JpegMarkers): JpegColourPlan | undefined {
  if (m.sampling.length !== 3) return undefined;
  const hMax = Math.max(...m.sampling.map(([h]) => h));
  const vMax = Math.max(...m.sampling.map(([, v]) => v));
  const expand = m.sampling.map(([h, v]): [number, number] => [hMax / h, vMax / v]);
  if (expand.some(([x, y]) => (x !== 1 && x !== 2) || (y !== 1 && y !== 2))) return undefined;
  return { colour: storesRgb(m) ? 'rgb' : 'ycbcr', expand };
}

/** libjpeg's guess for three components: JFIF means YCbCr; Adobe says which; ids 'R','G','B' mean RGB. */
function storesRgb(m: JpegMarkers): boolean {
  if (m.jfif) return false;
  if (m.adobeTransform !== undefined) return m.adobeTransform === 0;
  return m.ids[0] === 0x52 && m.ids[1] === 0x47 && m.ids[2] === 0x42;
}

/**
 * RGB from jpeg-js's untransformed output: `planes` holds the three components interleaved at full
 * size, each subsampled one repeated over its 2×1, 1×2 or 2×2 cells (jpeg-js's nearest upsampling),
 * so every stored sample is still there to read back.
 */
export function jpegToRgb(planes: Uint8Array, width: number, height: number, plan: JpegColourPlan): Uint8Array {
  const [a, b, c] = plan.expand.map(([x, y], k) => {
    const stored = storedSamples(planes, width, height, k, x, y);
    return x === 1 && y === 1 ? stored.data : upsample(stored, x, y, width, height);
  }) as [Uint8Array, Uint8Array, Uint8Array];
  const out = new Uint8Array(width * height * 3);
  const n = width * height;
  if (plan.colour === 'rgb') {
    for (let i = 0; i < n; i++) {
      out[3 * i] = a[i]!;
      out[3 * i + 1] = b[i]!;
      out[3 * i + 2] = c[i]!;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const y = a[i]!;
    const cb = b[i]! - 128;
    const cr = c[i]! - 128;
    out[3 * i] = clamp(y + ((CR_R * cr + HALF) >> SHIFT));
    out[3 * i + 1] = clamp(y + ((-CB_G * cb - CR_G * cr + HALF) >> SHIFT));
    out[3 * i + 2] = clamp(y + ((CB_B * cb + HALF) >> SHIFT));
  }
  return out;
}

// libjpeg's fixed-point YCbCr→RGB: coefficients scaled by 2^16 and rounded, results rounded.
const SHIFT = 16;
const HALF = 1 << (SHIFT - 1);
const fix = (v: number): number => Math.round(v * (1 << SHIFT));
const CR_R = fix(1.402);
const CB_B = fix(1.772);
const CB_G = fix(0.34414);
const CR_G = fix(0.71414);

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

interface Samples {
  data: Uint8Array;
  w: number;
  h: number;
}

/** The component's stored samples, read back from the top-left pixel of each repeated cell. */
function storedSamples(planes: Uint8Array, width: number, height: number, k: number, ex: number, ey: number): Samples {
  const w = Math.ceil(width / ex);
  const h = Math.ceil(height / ey);
  const data = new Uint8Array(w * h);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) data[r * w + c] = planes[3 * (r * ey * width + c * ex) + k]!;
  return { data, w, h };
}

/**
 * libjpeg's fancy upsampling: each output sample weighs its own stored sample 3/4 and the nearest
 * neighbour on its side 1/4 (in each expanded direction), with libjpeg's alternating rounding
 * biases, edges repeated. Like libjpeg, a component only 1 or 2 samples wide that is expanded
 * across is repeated instead (in both directions).
 */
function upsample(s: Samples, ex: number, ey: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const across = ex === 2 && s.w > 2;
  const down = ey === 2 && (ex === 1 || across);
  // One output row's vertical mix: 3 × own row + the neighbouring row when `down` (so ×4), else the row.
  const mix = new Int32Array(s.w);
  const last = s.w - 1;
  for (let y = 0; y < height; y++) {
    const r = Math.floor(y / ey);
    const own = r * s.w;
    if (down) {
      const far = Math.min(Math.max(y % 2 === 0 ? r - 1 : r + 1, 0), s.h - 1) * s.w;
      for (let c = 0; c < s.w; c++) mix[c] = 3 * s.data[own + c]! + s.data[far + c]!;
    } else {
      for (let c = 0; c < s.w; c++) mix[c] = s.data[own + c]!;
    }
    const o = y * width;
    if (across) {
      // Even outputs lean left, odd ones right; ×16 in total when mixed down too, else ×4.
      const [shift, even, odd] = down ? [4, 8, 7] : [2, 1, 2];
      for (let x = 0; x < width; x++) {
        const c = x >> 1;
        const side = x % 2 === 0 ? (c > 0 ? c - 1 : 0) : c < last ? c + 1 : last;
        out[o + x] = (3 * mix[c]! + mix[side]! + (x % 2 === 0 ? even : odd)) >> shift;
      }
    } else if (down) {
      const bias = y % 2 === 0 ? 1 : 2;
      for (let x = 0; x < width; x++) out[o + x] = (mix[x]! + bias) >> 2;
    } else {
      for (let x = 0; x < width; x++) out[o + x] = mix[Math.floor(x / ex)]!;
    }
  }
  return out;
}
