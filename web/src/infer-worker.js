// Private mode off the page's main thread: decoding, preprocessing, inference (onnxruntime-web,
// WebGPU or multi-threaded WASM) and edge refinement all run in this module worker, so the page stays
// responsive while a batch runs. Built as its own bundle; the page knows its hashed name as
// INFER_WORKER_URL (scripts/build.mjs).
//   in:  {type: "cut", id, file: Blob, model, headers, tuning}
//   out: {type: "progress", id, stage: "model"|"compile"|"decode"|"infer"|"refine", fraction?, expectMs?}
//        {type: "ready", id, backend: "webgpu"|"wasm", threads, isolated, loadMs}
//        {type: "done", id, rgba, matte, low, lw, lh, width, height, frame, cutPreview, beforePreview (ImageBitmaps
//         at card size), ms: {decode, preprocess, run, postprocess, refine, decontaminate, previews, ...}, guided,
//         softPixels, backend}
//        {type: "error", id, error}
import { decodePixels, loadSession, lowMatteInBrowser } from "./private.js";
import { frameOf, pixelsCanvas, previews } from "./pictures.js";
import { cutoutRGBA } from "./refine.js";

let lastInferMs = null;
let announced = false;

async function cut({ id, file, model, headers, tuning }) {
  const progress = (stage, extra = {}) => self.postMessage({ type: "progress", id, stage, ...extra });
  const tLoad = performance.now();
  const session = await loadSession(model, headers, (stage, fraction) => progress(stage, { fraction }), tuning);
  if (!announced) {
    announced = true;
    self.postMessage({ type: "ready", id, backend: session.gpu ? "webgpu" : "wasm", threads: session.threads,
      isolated: self.crossOriginIsolated, loadMs: performance.now() - tLoad });
  }
  progress("decode");
  const tDecode = performance.now();
  const pixels = await decodePixels(file);
  const { width, height } = pixels;
  progress("infer", { expectMs: lastInferMs });
  const t0 = performance.now();
  const low = await lowMatteInBrowser(session, pixels);
  const t1 = performance.now();
  lastInferMs = t1 - t0;
  progress("refine");
  const lowCopy = low.low.slice();
  const r = cutoutRGBA(low.low, low.lw, low.lh, pixels.rgba, width, height);
  const t2 = performance.now();
  // the card's previews are drawn here too: full-size canvas work would stall the page's main thread
  const frame = frameOf({ width, height }, pixels.bitmap, null);
  const p = previews(pixelsCanvas(r.rgba, width, height), pixels.bitmap, frame);
  pixels.bitmap.close();
  const t3 = performance.now();
  const ms = { decode: t0 - tDecode, ...low.ms, inference: t1 - t0, refine: r.ms.refine,
    decontaminate: r.ms.decontaminate, previews: t3 - t2, total: t3 - t0 };
  self.postMessage({ type: "done", id, rgba: r.rgba, matte: r.matte, low: lowCopy, lw: low.lw, lh: low.lh, width,
    height, frame, cutPreview: p.cut, beforePreview: p.before, ms, guided: r.guided, softPixels: r.softPixels,
    backend: session.gpu ? "webgpu" : "wasm" },
  [r.rgba.buffer, r.matte.buffer, lowCopy.buffer, p.cut, p.before]);
}

// One image at a time: the session is not re-entrant and the CPU is shared anyway.
let chain = Promise.resolve();
self.onmessage = ({ data }) => {
  if (data.type !== "cut") return;
  chain = chain.then(() => cut(data)).catch((e) => {
    self.postMessage({ type: "error", id: data.id, error: e.message || String(e) });
  });
};
