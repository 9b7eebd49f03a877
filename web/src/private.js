// Private mode: the model runs in this tab with onnxruntime-web. The image never leaves the page;
// the only requests are for the runtime (/vendor/ort/...) and the model file (/model/<id>.onnx),
// both from the alphacut server that served this page. These functions run inside the private-mode
// worker (infer-worker.js), never on the page's main thread; refine.js then refines the matte there.
import { contentSize, normalize, padMirror, postprocess, resizeRGB, rgbaToRGB } from "./preprocess.js";

const ORT_BASE = "/vendor/ort/";
let sessionPromise = null;

async function hasWebGPU() {
  try {
    return Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

async function loadRuntime(tuning) {
  const gpu = await hasWebGPU();
  // the WebGPU build also runs the WASM CPU kernels; the plain WASM build is half the download
  const file = gpu ? "ort.webgpu.min.mjs" : "ort.wasm.min.mjs";
  const ort = await import(/* @vite-ignore */ ORT_BASE + file);
  ort.env.wasm.wasmPaths = ORT_BASE;
  ort.env.wasm.numThreads = self.crossOriginIsolated
    ? Number(tuning.threads) || Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return { ort, gpu };
}

async function fetchModel(url, headers, onProgress) {
  const res = await fetch(url, { headers, cache: "default" });
  if (!res.ok) throw new Error(`model download failed: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length")) || 0;
  if (!res.body || !total) return new Uint8Array(await res.arrayBuffer());
  const out = new Uint8Array(total);
  const reader = res.body.getReader();
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value, got);
    got += value.length;
    onProgress(got / total);
  }
  return out;
}

/**
 * Load (once) the runtime and the model described by /config.json's private_model. tuning: the page's
 * bench knobs from its URL (?threads=N&graphopt=disabled|basic|extended|all), empty normally.
 */
export function loadSession(model, headers, onProgress, tuning = {}) {
  if (!sessionPromise) {
    sessionPromise = (async () => {
      const { ort, gpu } = await loadRuntime(tuning);
      const bytes = await fetchModel(model.url, headers, (f) => onProgress("model", f));
      onProgress("compile", 1);
      const providers = gpu ? ["webgpu", "wasm"] : ["wasm"];
      // intra-op threads that sleep instead of spinning between kernels: spinning ones took the page's
      // main thread's core on a 2-core machine (300 ms gaps while a batch ran; tests/browser/test_private_worker.py)
      const session = await ort.InferenceSession.create(bytes, { executionProviders: providers,
        graphOptimizationLevel: tuning.graphopt || "all", extra: { session: { intra_op: { allow_spinning: "0" } } } });
      return { ort, session, gpu, model, threads: gpu ? 0 : ort.env.wasm.numThreads };
    })();
    sessionPromise.catch(() => { sessionPromise = null; });
  }
  return sessionPromise;
}

/** Decode a File/Blob to RGBA pixels (EXIF orientation applied, as alphacut's decoder does); the
 * bitmap is kept for the card's previews (the caller closes it). */
export async function decodePixels(blob) {
  const bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", premultiplyAlpha: "none",
    colorSpaceConversion: "default" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { rgba: data, width: canvas.width, height: canvas.height, bitmap };
}

/**
 * The model's matte for RGBA pixels, computed in this tab: {low, lw, lh, ms}, a Float32Array lh×lw in
 * [0, 1] over the image's own part of the model input (contentSize: half-stretched, longer side = input).
 */
export async function lowMatteInBrowser(state, pixels) {
  const { ort, session, model } = state;
  const side = model.input_size;
  const t0 = performance.now();
  const { rgb } = rgbaToRGB(pixels.rgba, pixels.width, pixels.height);
  // Half-stretched (alphacut.pipeline.content_size); the rest of the square mirrors the image at
  // its bottom and right edges (alphacut.pipeline.preprocess).
  const [cw, ch] = contentSize(pixels.width, pixels.height, side, side);
  const small = resizeRGB(rgb, pixels.width, pixels.height, cw, ch);
  const content = normalize(small, cw, ch, model.mean, model.std);
  const input = new ort.Tensor("float32", padMirror(content, cw, ch, side, side), [1, 3, side, side]);
  const feeds = { [session.inputNames[0]]: input };
  const t1 = performance.now();
  const outputs = await session.run(feeds);
  const t2 = performance.now();
  const raw = outputs[session.outputNames[model.output_index || 0]];
  const cropped = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y++) cropped.set(raw.data.subarray(y * side, y * side + cw), y * cw);
  for (const t of Object.values(outputs)) t.dispose?.();
  const low = postprocess(cropped, model.activation, model.levels);
  return { low, lw: cw, lh: ch, ms: { preprocess: t1 - t0, run: t2 - t1, postprocess: performance.now() - t2 } };
}
