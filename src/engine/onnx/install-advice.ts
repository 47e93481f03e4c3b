import { ONNXRUNTIME_NODE_RANGE } from '../../version.js';

/**
 * Whether onnxruntime-node's install step downloads files from outside the npm registry here: in
 * 1.30 (script/install-metadata.js) only the CUDA files on Linux x64, fetched from NuGet unless
 * ONNXRUNTIME_NODE_INSTALL=skip. When that download fails, npm removes the optional dependency.
 */
function downloadsAtInstall(platform: string, arch: string): boolean {
  return platform === 'linux' && arch === 'x64';
}

/** The command that installs onnxruntime-node's CPU build (carried in its npm package) into the user's project. */
export function onnxRuntimeInstallCommand(platform: string = process.platform, arch: string = process.arch): string {
  const spec = `onnxruntime-node@${ONNXRUNTIME_NODE_RANGE.replace(/^[\^~]/, '')}`;
  return downloadsAtInstall(platform, arch) ? `ONNXRUNTIME_NODE_INSTALL=skip npm install ${spec}` : `npm install ${spec}`;
}

/** Why onnxruntime-node cannot be used, from the error its import threw, and the command that fixes it. */
export function onnxRuntimeUnavailable(e: unknown, platform: string = process.platform, arch: string = process.arch): string {
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  const fix = onnxRuntimeInstallCommand(platform, arch);
  const notInstalled = (e as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND' && /['"]onnxruntime-node['"]/.test(message ?? '');
  if (!notInstalled) return `onnxruntime-node is installed but could not be loaded (${message}); reinstall it with: ${fix}`;
  const why = downloadsAtInstall(platform, arch)
    ? 'npm drops this optional dependency without a word when its install step fails, and on Linux x64 that step downloads CUDA files from outside the npm registry'
    : 'it is an optional dependency and this install left it out';
  return `onnxruntime-node is not installed (${why}); its CPU build needs only the npm registry: ${fix}`;
}
