import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../src/workflows/config/load.js';
import { validateExperiment } from '../../src/workflows/config/validate.js';
import { EXPERIMENT_KINDS } from '../../src/workflows/config/schema.js';
import { FUZZ_TIMEOUT_MS, fuzz, invariant } from './harness.js';
import { TextMutator } from './mutate.js';

// Every example experiment, as written (YAML with comments) and as JSON (also accepted).
const EXAMPLES = path.resolve(__dirname, '../../examples');
const yamlSeeds = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ file: f, text: readFileSync(path.join(EXAMPLES, f), 'utf8') }));
const SEEDS = [...yamlSeeds, ...yamlSeeds.map((s) => ({ file: s.file.replace(/\.yaml$/, '.json'), text: JSON.stringify(parseYaml(s.text), null, 2) }))];

describe('fuzzing experiment files (YAML and JSON)', () => {
  it('every mutation ends in a validated experiment or a BAD_ARGUMENT error that points at the file', async () => {
    const yaml = new TextMutator({ yaml: true });
    const json = new TextMutator();
    await fuzz({
      name: 'experiment files',
      seed: 107,
      sync: true,
      make: (rng) => {
        const s = SEEDS[rng.int(SEEDS.length)]!;
        const m = (s.file.endsWith('.json') ? json : yaml).mutate(s.text, rng);
        return { input: m.value, what: `${s.file}: ${m.what}`, size: m.value.length };
      },
      run: (text, label) => validateExperiment(parseConfigText(text, label), { file: label, baseDir: EXAMPLES }),
      check: (e) => invariant((EXPERIMENT_KINDS as readonly string[]).includes(e.kind), `kind ${String(e.kind)}`),
    });
  }, FUZZ_TIMEOUT_MS);
});
