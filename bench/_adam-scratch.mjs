import { AdamKernel } from '/work/main/dist/train/onnx/adam-kernel.js';

const P = 11_200_000;
const k = AdamKernel.create(4 * P + 64);
console.log('kernel', !!k);
const buf = k.memory.buffer;
const w = new Float32Array(buf, 0, P), g = new Float32Array(buf, 4*P, P), m = new Float32Array(buf, 8*P, P), v = new Float32Array(buf, 12*P, P);
for (let i = 0; i < P; i++) { w[i] = Math.sin(i); g[i] = Math.cos(i) * 0.01; m[i] = 0.001*Math.sin(i*3); v[i] = 1e-5*(1+Math.cos(i*7)); }
// scalar reference on first 1000
const f = Math.fround;
const ref = [];
const s = { beta1: 0.9, beta2: 0.999, oma1: f(1 - f(0.9)), oma2: f(1 - f(0.999)), epsilon: 1e-7, rate: 0.001, weightDecay: 0 };
for (let i = 0; i < 1000; i++) {
  const m2 = f(f(m[i]*f(0.9)) + f(g[i]*f(1-0.9)));
  const v2 = f(f(v[i]*f(0.999)) + f(f(g[i]*g[i])*f(1-0.999)));
  const step = f(f(f(m2/s.oma1) / f(f(Math.sqrt(f(v2/s.oma2))) + f(1e-7))) * f(-0.001));
  ref.push([f(step + w[i]), m2, v2]);
}
k.update({ w, g, m, v }, s, 'none');
let bad = 0; for (let i = 0; i < 1000; i++) if (ref[i][0] !== w[i] || ref[i][1] !== m[i] || ref[i][2] !== v[i]) bad++;
console.log('mismatch', bad);
const times = [];
for (let r = 0; r < 10; r++) { const t = performance.now(); k.update({ w, g, m, v }, s, 'none'); times.push(performance.now() - t); }
times.sort((a,b)=>a-b); console.log('wasm adam ms', times.map(t=>t.toFixed(1)).join(' '));
const src = new Float32Array(P); const t2=[];
for (let r = 0; r < 5; r++) { const t = performance.now(); g.set(src); t2.push(performance.now() - t); }
console.log('copy 44MB ms', t2.map(t=>t.toFixed(1)).join(' '));
