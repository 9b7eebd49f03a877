// Private mode off the page's main thread: decoding, preprocessing and inference (onnxruntime-web,
// WebGPU or multi-threaded WASM) run in this module worker, so the page stays responsive while a batch
// runs. The edge refinement runs in the image worker (image-worker.js "refine"), so this worker is free
// for the next photo as soon as an inference ends (the page's ?overlap=1 uses that). Built as its own bundle;
// the page knows its hashed name as INFER_WORKER_URL (scripts/build.mjs).
//   in:  {type: "cut", id, file: Blob, model, headers, tuning, best (run the model on the image and its mirror image)}
//   out: {type: "progress", id, stage: "model"|"compile"|"decode"|"infer", fraction?, expectMs?}
//        {type: "ready", id, backend: "webgpu"|"wasm", adapter: {fallback, name}|null, threads, isolated, loadMs}
//        {type: "done", id, rgba (the photo's pixels), bitmap (the decoded photo), low, lw, lh, width, height,
//         ms: {decode, preprocess, run, postprocess, inference}, runs (1, or 2 for best), backend}
//        {type: "error", id, error}
import { decodePixels, loadSession, lowMatteInBrowser } from "./private.js";

let lastRunMs = null; // the previous image's inference time per model run: the next one's estimate
let announced = false;

async function cut({ id, file, model, headers, tuning, best }) {
  const progress = (stage, extra = {}) => self.postMessage({ type: "progress", id, stage, ...extra });
  const tLoad = performance.now();
  const session = await loadSession(model, headers, (stage, fraction) => progress(stage, { fraction }), tuning);
  if (!announced) {
    announced = true;
    self.postMessage({ type: "ready", id, backend: session.gpu ? "webgpu" : "wasm", adapter: session.gpu, threads: session.threads,
      isolated: self.crossOriginIsolated, loadMs: performance.now() - tLoad });
  }
  progress("decode");
  const tDecode = performance.now();
  const pixels = await decodePixels(file);
  const { width, height } = pixels;
  progress("infer", { expectMs: lastRunMs && lastRunMs * (best ? 2 : 1), best: Boolean(best) });
  const t0 = performance.now();
  const low = await lowMatteInBrowser(session, pixels, { best: Boolean(best) });
  const t1 = performance.now();
  lastRunMs = (t1 - t0) / low.runs;
  const ms = { decode: t0 - tDecode, ...low.ms, inference: t1 - t0 };
  self.postMessage({ type: "done", id, rgba: pixels.rgba, bitmap: pixels.bitmap, low: low.low, lw: low.lw, lh: low.lh,
    width, height, ms, runs: low.runs, backend: session.gpu ? "webgpu" : "wasm" }, [pixels.rgba.buffer, pixels.bitmap, low.low.buffer]);
}

// One image at a time: the session is not re-entrant and the CPU is shared anyway.
let chain = Promise.resolve();
self.onmessage = ({ data }) => {
  if (data.type !== "cut") return;
  chain = chain.then(() => cut(data)).catch((e) => {
    self.postMessage({ type: "error", id: data.id, error: e.message || String(e) });
  });
};
