// run.json for the save-loop children (save-loop-child.mjs, replace-race-child.mjs): one input
// shape, and `seed` set to the round so a reader can tell which save it met.
export function childRunInfo(tag, seed, inputs) {
  return {
    graftVersion: tag,
    tfjsVersion: tag,
    createdAt: new Date(0).toISOString(),
    kind: 'train',
    task: tag,
    classNames: ['a'],
    sampleShape: [inputs],
    preprocessing: { pixelScale: 1 },
    seed,
    backend: 'cpu',
    phases: [],
  };
}
