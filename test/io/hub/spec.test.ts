import { describe, expect, it } from 'vitest';
import { isHubSpec, parseHubSpec } from '../../../src/io/hub/spec.js';
import { thrown } from '../../helpers.js';

describe('parseHubSpec', () => {
  it('reads repo, revision and path, with main as the default revision', () => {
    expect(parseHubSpec('hf:onnx-community/resnet-18')).toEqual({ repo: 'onnx-community/resnet-18', revision: 'main' });
    expect(parseHubSpec('hf:org/name@v1.0:onnx/model.onnx')).toEqual({ repo: 'org/name', revision: 'v1.0', path: 'onnx/model.onnx' });
    expect(parseHubSpec('hf:gpt2@refs/pr/1:model.onnx')).toEqual({ repo: 'gpt2', revision: 'refs/pr/1', path: 'model.onnx' });
    const commit = 'a'.repeat(40);
    expect(parseHubSpec(`hf:org/name@${commit}`)).toEqual({ repo: 'org/name', revision: commit });
  });

  it('isHubSpec is the hf: prefix', () => {
    expect(isHubSpec('hf:org/name')).toBe(true);
    expect(isHubSpec('org/name')).toBe(false);
    expect(isHubSpec('./hf:model.onnx')).toBe(false);
  });

  it.each([
    ['hf:', 'repo name is missing'],
    ['org/name', 'does not start with "hf:"'],
    ['hf:a/b/c', 'is not ORG/NAME'],
    ['hf:org--x/name', 'is not ORG/NAME'],
    ['hf:org/na..me', 'is not ORG/NAME'],
    ['hf:org/name@', 'revision "" is not'],
    ['hf:org/name@a..b', 'revision "a..b" is not'],
    ['hf:org/name@bad rev', 'revision "bad rev" is not'],
    ['hf:org/name:../x.onnx', '".." segment'],
    ['hf:org/name:/etc/x.onnx', 'path is absolute'],
    ['hf:org/name:a\\b.onnx', 'backslash'],
    ['hf:org/name:', 'path is empty'],
    ['hf:org/name:model.bin', 'does not end in .onnx'],
  ])('refuses %s, naming what is wrong, what was received and the form', (text, why) => {
    const e = thrown(() => parseHubSpec(text));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toContain(why);
    expect(e.message).toContain(JSON.stringify(text));
    expect(e.message).toContain('hf:ORG/NAME[@REVISION][:PATH.onnx]');
  });
});
