import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** The files of a TF.js layers model: model.json and one weights file. */
export interface TfjsModelFiles {
  'model.json': string;
  'weights.bin': Uint8Array;
}

/** Serialises a model to TF.js's layers format (what tf.loadLayersModel reads). */
export async function toTfjsFiles(model: tfl.LayersModel, generatedBy: string): Promise<TfjsModelFiles> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightSpecs || artifacts.weightData === undefined) throw new Error('TF.js returned no weights when saving');
  const parts = Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData];
  const weights = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    weights.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  const json = {
    format: 'layers-model',
    generatedBy,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  return { 'model.json': JSON.stringify(json), 'weights.bin': weights };
}
