// Private mode off the page's main thread: decoding, preprocessing and inference (onnxruntime-web,
// WebGPU or multi-threaded WASM) run in this module worker, so the page stays responsive while a batch
// runs. The edge refinement runs in the image worker (image-worker.js "refine"), so this worker is free
// for the next photo as soon as an inference ends (the page's ?overlap=1 uses that). Built as its own bundle;
// the page knows its hashed name as INFER_WORKER_URL (scripts/build.mjs).
//   in:  {type: "warm", id, model, headers, tuning}: load the runtime and model now (answered by "warmed")
//        {type: "cut", id, file: Blob, model, headers, tuning, best (run the model on the image and its mirror image),
//         preview: {side, size: {width, height} from the file's header} | null}
//   out: {type: "progress", id, stage: "model"|"compile"|"decode"|"infer", fraction?, expectMs?}
//        {type: "ready", id, backend: "webgpu"|"wasm", adapter: {fallback, name}|null, threads, isolated, loadMs, store}
//        {type: "preview", id, cutPreview, beforePreview (ImageBitmaps at card size), side, ms} before "done", or
//        {type: "preview", id, error} when this model can't run at the preview's size (the card waits for "done")
//        {type: "done", id, rgba (the photo's pixels), bitmap (the decoded photo), low, lw, lh, width, height,
//         ms: {decode, preprocess, run, postprocess, inference}, runs (1, or 2 for best), backend}
//        {type: "error", id, error}
import { PREVIEW_PX } from "./pictures.js";
import { decodePixels, loadSession, lowMatteInBrowser } from "./private.js";

let lastRunMs = null; // the previous image's inference time per model run: the next one's estimate
let announced = false;

/**
 * A provisional cut-out, fast: the photo decoded at card size (a 12 MP JPEG is not decoded in full for
 * it), the same model run at a small input side, its matte laid over the small photo. Shown on the card
 * until the full-quality result replaces it; never downloadable.
 */
async function preview(session, file, size, side) {
  const t0 = performance.now();
  const options = { imageOrientation: "from-image", premultiplyAlpha: "none" };
  const scale = size ? Math.min(1, PREVIEW_PX / Math.max(size.width, size.height)) : 1;
  if (scale < 1) Object.assign(options, { resizeWidth: Math.max(1, Math.round(size.width * scale)), resizeQuality: "medium" });
  const bitmap = await createImageBitmap(file, options);
  const w = bitmap.width, h = bitmap.height;
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const tDecoded = performance.now();
  const low = await lowMatteInBrowser(session, { rgba, width: w, height: h }, { side });
  const tInfer = performance.now();
  const matte = new OffscreenCanvas(low.lw, low.lh);
  const alpha = new ImageData(low.lw, low.lh);
  for (let i = 0; i < low.low.length; i++) alpha.data[4 * i + 3] = Math.round(low.low[i] * 255);
  matte.getContext("2d").putImageData(alpha, 0, 0);
  ctx.globalCompositeOperation = "destination-in"; // keep the photo where the matte is
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(matte, 0, 0, w, h);
  return { cutPreview: canvas.transferToImageBitmap(), beforePreview: bitmap,
    ms: { decode: tDecoded - t0, infer: tInfer - tDecoded, total: performance.now() - t0 } };
}

/** The runtime and model, loaded once; the first job to get them says which runtime it is ("ready"). */
async function sessionFor(id, model, headers, tuning) {
  const progress = (stage, extra = {}) => self.postMessage({ type: "progress", id, stage, ...extra });
  const tLoad = performance.now();
  const s = await loadSession(model, headers, (stage, fraction) => progress(stage, { fraction }), tuning);
  if (!announced) {
    announced = true;
    self.postMessage({ type: "ready", id, backend: s.gpu ? "webgpu" : "wasm", adapter: s.gpu, threads: s.threads,
      isolated: self.crossOriginIsolated, loadMs: performance.now() - tLoad, store: s.store });
  }
  return s;
}

async function cut({ id, file, model, headers, tuning, best, preview: wanted }) {
  const progress = (stage, extra = {}) => self.postMessage({ type: "progress", id, stage, ...extra });
  const session = await sessionFor(id, model, headers, tuning);
  if (wanted) {
    try {
      const p = await preview(session, file, wanted.size, wanted.side);
      self.postMessage({ type: "preview", id, ...p, side: wanted.side }, [p.cutPreview, p.beforePreview]);
    } catch (e) { // e.g. a model that takes only its own input size: no preview, the full result follows
      self.postMessage({ type: "preview", id, error: e.message || String(e) });
    }
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
  if (data.type === "warm") { // private mode chosen: get the runtime and model ready before the first drop
    chain = chain.then(async () => {
      await sessionFor(data.id, data.model, data.headers, data.tuning);
      self.postMessage({ type: "warmed", id: data.id });
    }).catch((e) => self.postMessage({ type: "error", id: data.id, error: e.message || String(e) }));
    return;
  }
  if (data.type !== "cut") return;
  chain = chain.then(() => cut(data)).catch((e) => {
    self.postMessage({ type: "error", id: data.id, error: e.message || String(e) });
  });
};
