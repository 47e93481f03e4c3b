import { LENGTH_DELIMITED, ProtoReader } from '../../src/engine/onnx/proto-reader.js';

export interface OnnxFileInfo {
  producer?: string;
  version?: string;
  meta: Record<string, string>;
}

/** ModelProto producer_name (2), producer_version (3) and metadata_props (14), read straight from the bytes. */
export function onnxFileInfo(bytes: Uint8Array): OnnxFileInfo {
  const r = new ProtoReader(bytes);
  const info: OnnxFileInfo = { meta: {} };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 2 && wire === LENGTH_DELIMITED) info.producer = r.string();
    else if (field === 3 && wire === LENGTH_DELIMITED) info.version = r.string();
    else if (field === 14 && wire === LENGTH_DELIMITED) {
      const e = r.message();
      let key = '';
      let value = '';
      while (!e.done()) {
        const t = e.tag();
        if (t.field === 1 && t.wire === LENGTH_DELIMITED) key = e.string();
        else if (t.field === 2 && t.wire === LENGTH_DELIMITED) value = e.string();
        else e.skip(t.wire);
      }
      info.meta[key] = value;
    } else r.skip(wire);
  }
  return info;
}
