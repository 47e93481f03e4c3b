import { GraftError } from '../../errors.js';
import { RESIZE_MODES, type ResizeMode } from '../../data/image-convert.js';
import { loadModel } from '../../io/run-dir.js';
import { modelImageInput, predictFiles, predictPreprocessing, type Prediction } from '../../workflows/predict.js';
import { claimPredictionsCsv, float32Text, predictionsCsv, writePredictionsCsv } from '../../workflows/predictions-csv.js';
import { defineCommand } from '../command.js';
import { BACKEND_OPTION, printJson, startBackend } from '../common.js';
import { renderTable } from '../table.js';
import { printErr, printOut, safeText } from '../terminal-text.js';

export const predictCommand = defineCommand({
  name: 'predict',
  summary: 'Predict the classes of images, image folders and IDX files with a trained model (grey or RGB).',
  usage: 'graft predict --model MODEL INPUT... [--top K] [--json] [--csv FILE [--force]] [--resize crop|squash|pad]',
  options: {
    model: { type: 'string', value: 'MODEL', description: 'A graft run directory, a TF.js model.json (or its folder), or a Keras .keras/.h5 file' },
    top: { type: 'string', value: 'K', description: 'Classes shown per image, most probable first (default: 3, or every class when there are fewer)' },
    json: { type: 'boolean', description: 'Print a JSON array: per input {file, index (IDX only), predictions: [{class, probability}]} or {file, error}' },
    csv: { type: 'string', value: 'FILE', description: "Also write FILE: one row per image, an IDX file's images as FILE[i] (file, class, probability, every class's probability, error)" },
    force: { type: 'boolean', description: 'Let --csv replace a CSV that graft predict wrote (never any other file)' },
    resize: { type: 'string', value: 'MODE', description: "How images of another size are fitted: crop (centre crop to the input's aspect ratio, then resize), squash (stretch), pad (letterbox). Default: the run's own" },
    ...BACKEND_OPTION,
  },
  epilog: [
    'INPUT is any of, mixed freely:',
    '  an image: PNG, JPEG, WebP, BMP or GIF (first frame), told apart by content, never by name;',
    '  an IDX images file (Fashion-MNIST/MNIST format), raw or .gz: one prediction per image;',
    '  a folder: its images and those of its subfolders at any depth, sorted by path (hidden names and',
    '    symlinked folders are not entered; files that are neither images nor IDX and not named like',
    '    images are skipped and counted);',
    "  a quoted pattern graft expands itself: 'photos/*.jpg', 'shots/**/*.png', 'x/*.{png,jpg}'.",
    'MODEL: a graft run directory, a TF.js model.json, a Keras .keras or .h5 file.',
    '',
    "Preprocessing: each image is converted to the model's channels (grey or RGB) and fitted to its input",
    "size. A graft run uses its own run.json: its pixel scale and resize mode (runs from before resize modes",
    'were squashed; a folder:/csv: run also rounds the fitted pixels to whole values, as its training did).',
    'A model without run.json (TF.js or Keras file) is fitted by crop and given pixels /255,',
    "graft's convention of pixels in [0, 1], unless its first layer is a Rescaling layer, which then gets",
    '0..255 pixels. --resize overrides the resize mode.',
    '',
    'A file that cannot be predicted (not an image, damaged, unreadable) is reported in its row or JSON entry',
    'and the rest are still predicted. Exit code 0 when at least one input was predicted, 2 when none was.',
    "--csv's first line is a '# written by graft' comment (pandas: read_csv(FILE, comment='#')).",
  ].join('\n'),
  async run({ values: v, positionals }) {
    if (!v.model) throw new GraftError('BAD_ARGUMENT', 'graft predict needs --model MODEL (a run directory, a model.json, or a .keras/.h5 file).');
    if (positionals.length === 0) throw new GraftError('BAD_ARGUMENT', "graft predict needs at least one image, folder, pattern or IDX file after the options, e.g. graft predict --model runs/b photo.jpg 'photos/*.png'.");
    const top = v.top === undefined ? undefined : Number(v.top);
    if (top !== undefined && (!Number.isInteger(top) || top < 1 || v.top!.trim() === '')) {
      throw new GraftError('BAD_ARGUMENT', `--top needs a whole number of classes, 1 or more; received ${JSON.stringify(v.top)}.`);
    }
    if (v.resize !== undefined && !(RESIZE_MODES as readonly string[]).includes(v.resize)) {
      throw new GraftError('BAD_ARGUMENT', `--resize must be one of ${RESIZE_MODES.join(', ')}; received ${JSON.stringify(v.resize)}.`);
    }
    if (v.force && !v.csv) throw new GraftError('BAD_ARGUMENT', 'graft predict --force only concerns --csv FILE, which was not given. Drop --force, or add --csv FILE.');
    // Before any work: a CSV path that would overwrite someone's file is refused with nothing done.
    if (v.csv) await claimPredictionsCsv(v.csv, { force: v.force });
    await startBackend(v.backend, v.json);
    const loaded = await loadModel(v.model);
    const prep = predictPreprocessing(loaded.model, loaded.run, v.resize as ResizeMode | undefined);
    // Said once, so that greying a colour photo or cropping it is never silent.
    const input = modelImageInput(loaded.model);
    const scale = prep.pixelScale === 1 ? 'pixels 0..255' : Math.abs(prep.pixelScale * 255 - 1) < 1e-9 ? 'pixels /255' : `pixels ×${prep.pixelScale}`;
    printErr(`Images → ${input.height}×${input.width} ${input.channels === 1 ? 'grey' : 'RGB'}, resize ${prep.resize}${v.resize ? ' (--resize)' : ''}, ${scale}${prep.quantize ? ' rounded' : ''} (${prep.source}).\n`);
    const outcome = await predictFiles(loaded.model, positionals, {
      ...(loaded.run && { classNames: loaded.run.classNames }),
      pixelScale: prep.pixelScale,
      resize: prep.resize,
      ...(prep.quantize && { quantize: true }),
      ...(top !== undefined && { top }),
      onProgress: progressNote(),
    });
    const { results, skipped, classNames } = outcome;
    if (v.csv) {
      const about = `model ${JSON.stringify(v.model)}, input ${input.height}×${input.width}×${input.channels}, resize ${prep.resize}, pixel scale ${prep.pixelScale} (${prep.source})`;
      await writePredictionsCsv(v.csv, predictionsCsv(results, classNames, about), { force: v.force });
    }
    if (v.json) printJson(results.map(jsonEntry));
    else {
      printOut(`${renderTable(tableHeadings(results), results.map(tableRow))}\n`);
      // The reasons follow the table (one long message would widen every row's column); each names its file.
      const errors = results.filter((r) => r.error);
      if (errors.length > 0) printOut(`\nNot predicted:\n${errors.map((r) => `  ${r.error!.message}`).join('\n')}\n`);
    }
    if (skipped.length > 0) printErr(`Skipped ${skipped.length} file(s) in folders that are neither images nor IDX files: ${skipped.slice(0, 5).map(safeText).join(', ')}${skipped.length > 5 ? ', …' : ''}.\n`);
    const failed = results.filter((r) => r.error).length;
    if (v.csv) printErr(`Wrote ${v.csv} (${results.length} row(s)).\n`);
    if (failed === results.length) {
      printErr(`graft predict: none of the ${results.length} input(s) could be predicted; each one's reason is ${v.json ? 'in its entry' : 'above'}.\n`);
      return 2;
    }
    if (failed > 0) printErr(`${failed} of ${results.length} input(s) could not be predicted; the others were.\n`);
    return 0;
  },
});

/** For 2000 files or more, a line on stderr at each quarter, so a long run is seen to move. */
function progressNote(): (done: number, total: number) => void {
  let shown = 0;
  return (done, total) => {
    if (total < 2000) return;
    const quarter = Math.floor((4 * done) / total);
    if (quarter > shown && done < total) printErr(`predicted ${done} of ${total} files\n`);
    shown = Math.max(shown, quarter);
  };
}

function jsonEntry(r: Prediction): object {
  if (r.error) return { file: r.file, ...(r.index !== undefined && { index: r.index }), error: r.error };
  return {
    file: r.file,
    ...(r.index !== undefined && { index: r.index }),
    predictions: r.predictions!.map((p) => ({ class: p.class, probability: Number(float32Text(p.probability)) })),
  };
}

function tableHeadings(results: readonly Prediction[]): string[] {
  const k = Math.max(1, ...results.map((r) => r.predictions?.length ?? 0));
  return ['file', ...Array.from({ length: k }, (_, i) => (k === 1 ? 'class' : `#${i + 1}`))];
}

const entryName = (r: Prediction): string => (r.index === undefined ? r.file : `${r.file}[${r.index}]`);

function tableRow(r: Prediction): string[] {
  if (r.error) return [entryName(r), 'not predicted (reason below)'];
  return [entryName(r), ...r.predictions!.map((p) => `${p.class} ${(100 * p.probability).toFixed(1)}%`)];
}
