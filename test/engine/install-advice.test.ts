import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { onnxRuntimeInstallCommand, onnxRuntimeUnavailable } from '../../src/engine/onnx/install-advice.js';
import { ONNXRUNTIME_NODE_RANGE } from '../../src/version.js';

const root = mkdtempSync(path.join(tmpdir(), 'graft-ort-advice-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The error Node itself throws when a project lacks onnxruntime-node: an import in a folder without it, in a child Node (the test runner resolves imports from the repository, where it is installed). */
function importErrorWithoutOrt(): unknown {
  const file = path.join(root, 'uses-ort.mjs');
  writeFileSync(file, "try { await import('onnxruntime-node'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }\n");
  const out = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' });
  if (out.trim() === '') throw new Error('onnxruntime-node was found from a temporary folder; this test needs a folder without it');
  const { code, message } = JSON.parse(out) as { code: string; message: string };
  return Object.assign(new Error(message), { code });
}

const version = ONNXRUNTIME_NODE_RANGE.replace(/^[\^~]/, '');

describe('why onnxruntime-node is missing, and the command that installs it', () => {
  it('Linux x64: names the silent drop, the CUDA download, and a command that skips it', async () => {
    const text = onnxRuntimeUnavailable(importErrorWithoutOrt(), 'linux', 'x64');
    expect(text).toContain('onnxruntime-node is not installed');
    expect(text).toContain('npm drops this optional dependency without a word');
    expect(text).toContain('CUDA files from outside the npm registry');
    expect(text).toContain(`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@${version}`);
  });

  it('elsewhere the install step downloads nothing: a plain npm install', async () => {
    const text = onnxRuntimeUnavailable(importErrorWithoutOrt(), 'darwin', 'arm64');
    expect(text).toContain('onnxruntime-node is not installed (it is an optional dependency and this install left it out)');
    expect(text).toMatch(new RegExp(`: npm install onnxruntime-node@${version.replace(/\./g, '\\.')}$`));
    expect(onnxRuntimeInstallCommand('win32', 'x64')).toBe(`npm install onnxruntime-node@${version}`);
  });

  it('installed but broken (a binary that does not load): says so, quotes the error, same fix', () => {
    const e = Object.assign(new Error('libonnxruntime.so.1: cannot open shared object file\nmore'), { code: 'ERR_DLOPEN_FAILED' });
    const text = onnxRuntimeUnavailable(e, 'linux', 'x64');
    expect(text).toBe(
      `onnxruntime-node is installed but could not be loaded (libonnxruntime.so.1: cannot open shared object file); reinstall it with: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@${version}`,
    );
  });

  it('a missing dependency of onnxruntime-node is a broken install, not a missing package', () => {
    const e = Object.assign(new Error("Cannot find package 'onnxruntime-common' imported from /x/node_modules/onnxruntime-node/dist/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(onnxRuntimeUnavailable(e, 'linux', 'x64')).toMatch(/^onnxruntime-node is installed but could not be loaded \(Cannot find package 'onnxruntime-common'/);
  });
});
