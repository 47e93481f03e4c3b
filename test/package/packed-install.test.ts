import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ONNXRUNTIME_NODE_RANGE } from '../../src/version.js';

// graft as a user gets it: the packed tarball installed into a fresh project from npm's local cache;
// the registry is asked only for what the cache lacks (e.g. a dependency's dependency never fetched
// with metadata here), and without either the tests say so and skip.
// It reads dist/, which `npm test` builds first. About 20 s on 2 cores.

const repo = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(tmpdir(), 'graft-packed-'));
const project = path.join(root, 'project');
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The repository's .npmrc turns onnxruntime-node's download off, and `npm test` passes that on as
// npm_config_*; a user's project has neither.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_config_onnxruntime|ONNXRUNTIME_NODE_INSTALL)/i.test(k)));
const npm = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, cache = '--offline') =>
  spawnSync('npm', [...args, cache, '--no-audit', '--no-fund'], { cwd: project, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 90_000 });

let installError: string | undefined;

beforeAll(() => {
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', root], { cwd: repo, env, stdio: 'ignore' });
  const tarball = readdirSync(root).find((f) => f.endsWith('.tgz'))!;
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  let r = npm(['install', path.join(root, tarball)]);
  if (r.status !== 0 && /ENOTCACHED/.test(r.stderr)) {
    console.log(`packed install: npm's cache lacks part of the tree (${/request to (\S+)/.exec(r.stderr)?.[1] ?? 'see npm'}); installing with --prefer-offline`);
    r = npm(['install', path.join(root, tarball)], {}, '--prefer-offline');
  }
  if (r.status !== 0) {
    installError = `npm install of the packed graft failed (an empty npm cache and no registry?): ${r.stderr.split('\n').slice(-5).join(' ')}`;
    console.log(`packed install tests skipped: ${installError}`);
  }
}, 120_000);

const ortInstalled = (): boolean => existsSync(path.join(project, 'node_modules', 'onnxruntime-node', 'package.json'));

/** A training command that stops at the data (none there): enough to see what it says at start-up. */
function startTraining(extra: string[] = []) {
  const bin = path.join(project, 'node_modules', 'graft-learn', 'bin', 'graft.js');
  const args = [bin, 'train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--out', path.join(root, 'run'), '--data-dir', path.join(root, 'no-data'), '--offline', ...extra];
  return spawnSync(process.execPath, args, { cwd: project, env, encoding: 'utf8', timeout: 60_000 });
}

const NOTE = 'graft: training runs on TF.js, several times slower than onnxruntime: onnxruntime-node is not installed';

describe('the packed package in a fresh project', () => {
  it("the published types type-check in a strict project without skipLibCheck or @types/node: the README's library example", (ctx) => {
    if (installError) ctx.skip(installError);
    const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
    const example = /## Library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain("from 'graft-learn'");
    writeFileSync(path.join(project, 'example.ts'), example!);
    // Proof that the types are real (not any): a misuse must be an error.
    writeFileSync(path.join(project, 'misuse.ts'), "import { trainModel } from 'graft-learn';\n// @ts-expect-error epochs is a number\nawait trainModel({ task: 'fashion-mnist', epochs: '10', out: 'x' });\n");
    const tsconfig = {
      compilerOptions: { strict: true, skipLibCheck: false, noUnusedLocals: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true },
      files: ['example.ts', 'misuse.ts'],
    };
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    // As where npm left onnxruntime-node out: graft's types must not need its declarations. Nor
    // Node's: @types/node arrives only as protobufjs's dependency (under onnxruntime-web), and a
    // browser project may leave it out of its types.
    const ort = path.join(project, 'node_modules', 'onnxruntime-node');
    const nodeTypes = path.join(project, 'node_modules', '@types', 'node');
    const asides: Array<[string, string]> = [[ort, path.join(project, 'node_modules', '.ort-aside')], [nodeTypes, path.join(project, 'node_modules', '.node-types-aside')]];
    for (const [from, to] of asides) if (existsSync(from)) renameSync(from, to);
    let tsc: SpawnSyncReturns<string>;
    try {
      expect(existsSync(nodeTypes), 'this check is about a project without @types/node').toBe(false);
      tsc = spawnSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, encoding: 'utf8', timeout: 90_000 });
    } finally {
      for (const [from, to] of asides) if (existsSync(to)) renameSync(to, from);
    }
    const errors = tsc.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    // TF.js 4.22's own declarations fail a strict check (its Keras-format configs and LayersModel);
    // graft cannot change them. Everything else, graft's files and the example, must be clean.
    const tfjs = errors.filter((l) => l.startsWith('node_modules/@tensorflow/tfjs-layers/'));
    expect(errors.filter((l) => !tfjs.includes(l))).toEqual([]);
  }, 120_000);

  it('without onnxruntime-node, start-up says so on stderr with the command; that command brings the fast engine back', (ctx) => {
    if (installError) ctx.skip(installError);
    if (!ortInstalled()) {
      // What npm did to onnxruntime-node offline: its install step's download failed, npm removed it.
      const r = startTraining();
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(NOTE);
      const fix = /: (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@\S+|npm install onnxruntime-node@\S+)\n/.exec(r.stderr)?.[1];
      expect(fix).toBeDefined();
      expect(r.stderr.match(/graft: training runs on TF\.js/g)).toHaveLength(1);
      const json = startTraining(['--json']);
      expect(json.stderr).toContain(NOTE);
      expect(json.stdout).not.toContain('onnxruntime');
      // The command as printed (the environment variable it starts with, then npm's arguments).
      const [assign, ...words] = fix!.startsWith('ONNXRUNTIME') ? fix!.split(' ') : ['', ...fix!.split(' ')];
      const extraEnv = assign ? { [assign.split('=')[0]!]: assign.split('=')[1]! } : {};
      const installed = npm(words.slice(1), extraEnv);
      expect(installed.status, installed.stderr).toBe(0);
    }
    expect(ortInstalled()).toBe(true);
    expect(JSON.parse(readFileSync(path.join(project, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version).toBe(ONNXRUNTIME_NODE_RANGE.replace(/^[\^~]/, ''));
    const after = startTraining();
    expect(after.status).toBe(2);
    expect(after.stderr).not.toContain('graft: training runs on TF.js');
  }, 120_000);

});
