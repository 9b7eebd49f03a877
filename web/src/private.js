// Private mode: the model runs in this tab with onnxruntime-web. The image never leaves the page;
// the only requests are for the runtime (/vendor/ort/...) and the model file (/model/<id>.onnx),
// both from the alphacut server that served this page. These functions run inside the private-mode
// worker (infer-worker.js), never on the page's main thread; refine.js then refines the matte there.
import { modelBytes } from "./model-cache.js";
import { cropOutput, flipPlanes, mirrorMean, modelInput, postprocess, rgbaToRGB } from "./preprocess.js";

const ORT_BASE = "/vendor/ort/";
let sessionPromise = null;

/**
 * The WebGPU adapter private mode runs on, or null for WASM. A fallback adapter (software rendering on the
 * CPU, e.g. Chromium's SwiftShader on a machine without a usable GPU) is skipped: on this project's machine
 * it ran the model far slower than WASM (docs/WEB.md). Bench/test knob ?backend=webgpu takes any adapter
 * (and fails if there is none), ?backend=wasm never uses WebGPU.
 */
async function webgpuAdapter(tuning) {
  if (tuning.backend === "wasm") return null;
  let adapter = null;
  try {
    adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
  } catch {
    adapter = null;
  }
  if (!adapter) {
    if (tuning.backend === "webgpu") throw new Error("WebGPU was asked for (?backend=webgpu) but this browser offers no WebGPU adapter");
    return null;
  }
  const info = adapter.info || {};
  const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  if (fallback && tuning.backend !== "webgpu") return null;
  return { fallback, name: [info.vendor, info.architecture].filter(Boolean).join(" ") };
}

async function loadRuntime(tuning) {
  const gpu = await webgpuAdapter(tuning);
  // the WebGPU build also runs the WASM CPU kernels; the plain WASM build is half the download
  const file = gpu ? "ort.webgpu.min.mjs" : "ort.wasm.min.mjs";
  const ort = await import(/* @vite-ignore */ ORT_BASE + file);
  ort.env.wasm.wasmPaths = ORT_BASE;
  ort.env.wasm.numThreads = self.crossOriginIsolated
    ? Number(tuning.threads) || Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return { ort, gpu };
}

/**
 * Load (once) the runtime and the model described by /config.json's private_model. tuning: the page's
 * bench knobs from its URL (?threads=N&graphopt=disabled|basic|extended|all&backend=webgpu|wasm), empty normally.
 */
export function loadSession(model, headers, onProgress, tuning = {}) {
  if (!sessionPromise) {
    sessionPromise = (async () => {
      const { ort, gpu } = await loadRuntime(tuning);
      // from the browser's own store when a verified copy is kept there (model-cache.js), else downloaded once
      const got = await modelBytes(model, headers, (f) => onProgress("model", f));
      const bytes = got.bytes;
      onProgress("compile", 1);
      const providers = gpu ? ["webgpu", "wasm"] : ["wasm"];
      // intra-op threads that sleep instead of spinning between kernels: spinning ones took the page's
      // main thread's core on a 2-core machine (300 ms gaps while a batch ran; tests/browser/test_private_worker.py)
      const session = await ort.InferenceSession.create(bytes, { executionProviders: providers,
        graphOptimizationLevel: tuning.graphopt || "all", extra: { session: { intra_op: { allow_spinning: "0" } } } });
      return { ort, session, gpu, model, threads: gpu ? 0 : ort.env.wasm.numThreads,
        store: { source: got.source, dropped: got.dropped, kept: got.kept, ms: got.ms } };
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
 * The model's matte for RGBA pixels, computed in this tab: {low, lw, lh, runs, ms}, a Float32Array lh×lw in
 * [0, 1] over the image's own part of the model input (contentSize: half-stretched, longer side = input).
 * As alphacut.pipeline.prepare/infer: the model sees its whole input mirrored left-right if its catalog entry
 * says `mirror` (the output flipped back); best: it runs on the image and on its mirror image, whatever
 * the model's own orientation, and the two outputs are averaged before postprocess. side: the model's input
 * side (its catalog input_size; the preview runs a model that takes any size at a smaller one).
 */
export async function lowMatteInBrowser(state, pixels, { best = false, side = state.model.input_size } = {}) {
  const { ort, session, model } = state;
  const ms = { preprocess: 0, run: 0, postprocess: 0 };
  let t = performance.now();
  const lap = (stage) => { const now = performance.now(); ms[stage] += now - t; t = now; };
  const { rgb } = rgbaToRGB(pixels.rgba, pixels.width, pixels.height);
  const orientations = best ? [false, true] : [Boolean(model.mirror)];
  // One resize: best's mirrored input is the first input flipped (what modelInput(..., true) gives).
  const first = modelInput(rgb, pixels.width, pixels.height, side, side, model.mean, model.std, orientations[0]);
  const { cw, ch } = first;
  let low = null;
  for (const mirrored of orientations) {
    const input = mirrored === orientations[0] ? first.input : flipPlanes(first.input, side, side);
    lap("preprocess");
    const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", input, [1, 3, side, side]) });
    lap("run");
    const part = cropOutput(outputs[session.outputNames[model.output_index || 0]].data, side, cw, ch, mirrored);
    for (const o of Object.values(outputs)) o.dispose?.();
    low = low ? mirrorMean(low, part) : part;
    lap("postprocess");
  }
  low = postprocess(low, model.activation, model.levels);
  lap("postprocess");
  return { low, lw: cw, lh: ch, runs: orientations.length, ms };
}
