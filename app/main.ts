// The page: gathers the source model and the images, shows the split, drives the worker, and draws
// its progress and results. No network calls besides the app's own files.
import { ONNX_PREPROCESSING, SETTINGS_DEFAULTS, type EpochInfo, type FromWorker, type SourceFiles, type ToWorker, type TrainResult, type TrainSettings } from './protocol.js';
import { reportHtml, type AppReport } from './report.js';
import { fetchBuiltin } from './builtin-source.js';
import { readSourceFiles } from './source-files.js';
import { expandZips, zipClasses } from './zip.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};
const worker = new Worker(new URL('worker.js', import.meta.url), { type: 'module' });
const post = (m: ToWorker): void => worker.postMessage(m);
const epochs: EpochInfo[] = [];
/** For tests and the curious: the last result, as the worker sent it. */
const state: { result?: TrainResult; split?: unknown } = {};
(globalThis as unknown as { graftApp: typeof state }).graftApp = state;

const numberFields: Array<[string, keyof TrainSettings]> = [['input', 'input'], ['seeds', 'seeds'], ['frozen-epochs', 'frozenEpochs'], ['unfrozen-epochs', 'unfrozenEpochs'], ['learning-rate', 'learningRate'], ['test-fraction', 'testFraction']];
for (const [id, key] of numberFields) $<HTMLInputElement>(id).value = String(SETTINGS_DEFAULTS[key]);

/** Each class row's images, zips expanded: filled when its inputs change, awaited by Load. */
const rowImages = new WeakMap<Element, Promise<{ files: File[]; skipped: string[] }>>();

function addClassRow(preset?: { name: string; files: File[]; skipped: string[] }): void {
  const row = document.createElement('div');
  row.className = 'class-row';
  const n = $('classes').children.length + 1;
  row.innerHTML = `<label>Class <input class="class-name" value="class ${n}" size="12"></label>
<label>Folder <input class="class-folder" type="file" webkitdirectory multiple></label>
<label>or files / .zip <input class="class-files" type="file" multiple accept="image/*,.zip,application/zip"></label> <span class="class-count"></span>`;
  const name = row.querySelector<HTMLInputElement>('.class-name')!;
  const show = (images: Promise<{ files: File[]; skipped: string[] }>): void => {
    rowImages.set(row, images);
    const count = row.querySelector('.class-count')!;
    images.then(({ files, skipped }) => {
      count.textContent = `${files.length} image${files.length === 1 ? '' : 's'}${skipped.length ? ` (skipped ${skipped.length}: ${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', …' : ''})` : ''}`;
    }, (e: unknown) => {
      count.textContent = 'no images';
      showError(e);
    });
  };
  if (preset) {
    name.value = preset.name;
    show(Promise.resolve({ files: preset.files, skipped: preset.skipped }));
  }
  for (const input of row.querySelectorAll<HTMLInputElement>('input[type=file]')) {
    input.addEventListener('change', () => {
      const chosen = [...row.querySelectorAll<HTMLInputElement>('input[type=file]')].flatMap((i) => [...(i.files ?? [])]);
      show(expandZips(chosen).then(({ files, skipped }) => ({ files: keepImages(files), skipped })));
      // A folder (or a zip) names its class, unless the user typed a name.
      const first = chosen[0];
      const label = first?.webkitRelativePath.split('/')[0] || (first && /\.zip$/i.test(first.name) ? first.name.replace(/\.zip$/i, '') : '');
      if (label && /^class \d+$/.test(name.value)) name.value = label;
    });
  }
  $('classes').append(row);
}
addClassRow();
addClassRow();
$('add-class').addEventListener('click', () => addClassRow());

// One zip with a folder per class fills every class at once, replacing the rows.
$('classes-zip').addEventListener('change', () => {
  const zip = $<HTMLInputElement>('classes-zip').files?.[0];
  if (!zip) return;
  void zipClasses(zip).then(({ classes, skipped }) => {
    if (classes.length < 2) throw new Error(`${zip.name} holds ${classes.length === 1 ? `one class (${classes[0]!.name})` : 'no images'}; filling all classes needs a zip with one folder per class (at least two). Give a one-class zip to a class's "files / .zip" instead.`);
    $('classes').replaceChildren();
    classes.forEach((c, k) => addClassRow({ name: c.name, files: keepImages(c.files), skipped: k === 0 ? skipped : [] }));
    $('error').textContent = '';
  }).catch(showError);
});

/** Folders hold other files too (.DS_Store, notes): keep images, told apart by the browser's type or name. */
const keepImages = (files: File[]): File[] => files.filter((f) => f.type.startsWith('image/') || /\.(jpe?g|png|webp|gif|bmp)$/i.test(f.name));

function settings(): TrainSettings {
  const s = { ...SETTINGS_DEFAULTS };
  for (const [id, key] of numberFields) {
    const v = Number($<HTMLInputElement>(id).value);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${id} must be a number ≥ 0; received ${JSON.stringify($<HTMLInputElement>(id).value)}.`);
    s[key] = v;
  }
  if (!(s.testFraction > 0 && s.testFraction < 1)) throw new Error(`Test share must be between 0 and 1 (e.g. 0.2 for a fifth of each class); received ${s.testFraction}.`);
  if (!Number.isInteger(s.seeds) || s.seeds < 1) throw new Error(`Seeds must be a whole number ≥ 1 (2 or more for a verdict); received ${s.seeds}.`);
  return s;
}

// Choosing a file chooses "a model file"; an ONNX file also asks for its preprocessing.
$('source-files').addEventListener('change', () => {
  const files = [...($<HTMLInputElement>('source-files').files ?? [])];
  if (files.length) $<HTMLInputElement>('source-file').checked = true;
  $('onnx-options').hidden = !files.some((f) => /\.onnx$/i.test(f.name));
});

async function sourceFiles(input: number): Promise<SourceFiles> {
  if ($<HTMLInputElement>('source-builtin').checked) return fetchBuiltin(input);
  const preprocess = ONNX_PREPROCESSING.find((p) => p === $<HTMLSelectElement>('onnx-preprocess').value) ?? 'imagenet';
  const layout = $<HTMLSelectElement>('onnx-layout').value;
  return readSourceFiles([...($<HTMLInputElement>('source-files').files ?? [])], { preprocess, ...((layout === 'nchw' || layout === 'nhwc') && { layout }) });
}

$('load').addEventListener('click', () => {
  void (async () => {
    const rows = [...$('classes').children];
    const images = await Promise.all(rows.map((r) => rowImages.get(r) ?? Promise.resolve({ files: [], skipped: [] })));
    const classes = rows.map((r, k) => ({ name: r.querySelector<HTMLInputElement>('.class-name')!.value.trim(), files: images[k]!.files })).filter((c) => c.files.length > 0);
    const s = settings();
    $('error').textContent = '';
    $('decode-status').textContent = 'Reading the source model…';
    const source = await sourceFiles(s.input);
    $<HTMLButtonElement>('train').disabled = true;
    post({ type: 'load', source, classes, settings: s });
  })().catch((e: unknown) => {
    $('decode-status').textContent = '';
    showError(e);
  });
});

$('train').addEventListener('click', () => {
  epochs.length = 0;
  $<HTMLButtonElement>('train').disabled = true;
  $('step-results').hidden = true;
  post({ type: 'train' });
});

$('try').addEventListener('change', () => {
  const file = $<HTMLInputElement>('try').files?.[0];
  if (file) post({ type: 'predict', file });
});

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.type === 'status') $('progress-text').textContent = m.text;
  else if (m.type === 'decoded') $('decode-status').textContent = `Decoded ${m.done} of ${m.total} images`;
  else if (m.type === 'split') {
    state.split = m.split;
    const t = $<HTMLTableElement>('split');
    const totals = [0, 1, 2].map((j) => m.split.counts.reduce((n, c) => n + (c[j] ?? 0), 0));
    t.innerHTML = tableHtml(['class', 'train', 'validation', 'test'], [...m.split.classNames.map((n, k) => [n, ...(m.split.counts[k] ?? [])]), ['all', ...totals]]);
    t.hidden = false;
    $('decode-status').textContent = `${m.split.source}.${m.split.skipped.length ? ` Skipped (not decodable): ${m.split.skipped.join(', ')}` : ''}`;
    $<HTMLButtonElement>('train').disabled = false;
  } else if (m.type === 'progress') {
    $<HTMLProgressElement>('progress').value = m.fraction;
    $('progress-text').textContent = m.text;
  } else if (m.type === 'epoch') {
    epochs.push(m.info);
    const i = m.info;
    $('live').textContent = `${i.arm}, seed ${i.seed}, ${i.phase} epoch ${i.epoch}: loss ${i.loss.toFixed(4)}, accuracy ${i.accuracy.toFixed(3)}${i.valAccuracy === undefined ? '' : `, validation accuracy ${i.valAccuracy.toFixed(3)}`}`;
    drawCurve();
  } else if (m.type === 'result') showResult(m.result);
  else if (m.type === 'prediction') {
    const best = m.probabilities.indexOf(Math.max(...m.probabilities));
    $('try-result').textContent = `${m.classNames[best]} (${(100 * m.probabilities[best]!).toFixed(1)}%) — ${m.classNames.map((n, k) => `${n} ${(100 * m.probabilities[k]!).toFixed(1)}%`).join(', ')}`;
  } else showError(new Error(m.message));
};

function showError(e: unknown): void {
  $('error').textContent = e instanceof Error ? e.message : String(e);
  $<HTMLButtonElement>('train').disabled = !state.split;
}

const tableHtml = (head: string[], rows: Array<Array<string | number>>): string =>
  `<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`).join('')}`;
const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Training loss of each arm and seed, one polyline each: transfer blue, scratch orange. */
function drawCurve(): void {
  const svg = $('curve');
  const max = Math.max(...epochs.map((e) => e.loss), 1e-6);
  const groups = new Map<string, EpochInfo[]>();
  for (const e of epochs) groups.set(`${e.arm} ${e.seed}`, [...(groups.get(`${e.arm} ${e.seed}`) ?? []), e]);
  const longest = Math.max(...[...groups.values()].map((g) => g.length), 2);
  svg.innerHTML = [...groups.entries()].map(([key, g]) => {
    const pts = g.map((e, i) => `${(10 + (380 * i) / (longest - 1)).toFixed(1)},${(110 - (100 * e.loss) / max).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke-width="1.5" stroke="${key.startsWith('transfer') ? '#1f77b4' : '#ff7f0e'}" points="${pts}"><title>${key}</title></polyline>`;
  }).join('') + `<text x="12" y="12" font-size="10">training loss (max ${max.toFixed(3)}); blue transfer, orange scratch</text>`;
}

function showResult(r: TrainResult): void {
  state.result = r;
  $('step-results').hidden = false;
  $<HTMLProgressElement>('progress').value = 1;
  $('progress-text').textContent = 'Done.';
  $('verdict').textContent = r.verdictWords;
  $('timing').textContent = `Training time: transfer ${r.seconds.transfer.toFixed(1)} s, from scratch ${r.seconds.scratch.toFixed(1)} s (${r.transferErrors.length} seeds each).`;
  $('verdict').dataset.verdict = r.verdict;
  $('test-accuracy').textContent = `${(100 * r.testAccuracy).toFixed(1)}%`;
  $('test-accuracy').dataset.value = String(r.testAccuracy);
  $('confusion').innerHTML = tableHtml(['', ...r.classNames], r.confusion.map((c, k) => [r.classNames[k] ?? '', ...c]));
  const classes = r.classNames.length;
  const size = r.input * r.input * 3;
  $('wrong').replaceChildren(...r.wrong.map((i) => {
    const fig = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = r.input;
    const img = new ImageData(r.input, r.input);
    const px = r.testX.subarray(i * size, (i + 1) * size);
    for (let p = 0; p < r.input * r.input; p++) {
      for (let c = 0; c < 3; c++) img.data[4 * p + c] = Math.round(255 * px[3 * p + c]!);
      img.data[4 * p + 3] = 255;
    }
    canvas.getContext('2d')!.putImageData(img, 0, 0);
    const probs = r.probabilities.subarray(i * classes, (i + 1) * classes);
    const predicted = probs.indexOf(Math.max(...probs));
    const caption = document.createElement('figcaption');
    caption.textContent = `${r.classNames[r.testY[i]!]} → ${r.classNames[predicted]} ${(100 * probs[predicted]!).toFixed(0)}%`;
    fig.append(canvas, caption);
    return fig;
  }));
  if (r.wrong.length === 0) $('wrong').textContent = 'None: every test image was classified correctly.';
  const report = JSON.parse(r.report) as AppReport;
  // An empty payload: a format this model cannot be written in (the worker says why in notExported).
  const some = <T extends { length: number }>(v: T): T | undefined => (v.length > 0 ? v : undefined);
  const links: Array<[string, string, BlobPart | undefined, string]> = [
    ['download-keras', 'model.keras', some(new Uint8Array(r.keras)), 'application/octet-stream'],
    ['download-onnx', 'model.onnx', some(new Uint8Array(r.onnx)), 'application/octet-stream'],
    ['download-tfjs-json', 'model.json', some(r.tfjsJson), 'application/json'],
    ['download-tfjs-weights', 'weights.bin', r.tfjsJson ? new Uint8Array(r.tfjsWeights) : undefined, 'application/octet-stream'],
    ['download-report-json', 'report.json', r.report, 'application/json'],
    ['download-report-html', 'report.html', reportHtml(report), 'text/html'],
  ];
  const notes = (r.notExported ?? []).map((text) => Object.assign(document.createElement('span'), { className: 'not-exported', textContent: text }));
  $('downloads').replaceChildren(...links.filter((l): l is [string, string, BlobPart, string] => l[2] !== undefined).map(([id, name, body, type]) => {
    const a = document.createElement('a');
    a.id = id;
    a.download = name;
    a.textContent = name;
    a.href = URL.createObjectURL(new Blob([body], { type }));
    return a;
  }), ...notes);
  $<HTMLButtonElement>('train').disabled = false;
}
