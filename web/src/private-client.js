// The page's side of private mode: hands files to the worker (infer-worker.js) and relays its
// progress. The image is read in the worker; nothing is sent anywhere.
let worker = null;
let nextId = 0;
const jobs = new Map();

function inferWorker() {
  if (!worker) {
    // INFER_WORKER_URL is set at build time (scripts/build.mjs) to the worker bundle's hashed name.
    worker = new Worker(INFER_WORKER_URL, { type: "module" });
    worker.onmessage = ({ data }) => {
      const job = jobs.get(data.id);
      if (!job) return;
      if (data.type === "progress") job.onProgress(data);
      else if (data.type === "preview") job.onPreview(data);
      else if (data.type === "ready") job.onReady(data);
      else if (data.type === "warmed") { jobs.delete(data.id); job.resolve(data); }
      else {
        jobs.delete(data.id);
        if (data.type === "error") job.reject(new Error(data.error));
        else job.resolve(data);
      }
    };
    worker.onerror = (e) => {
      for (const job of jobs.values()) job.reject(new Error(`the private-mode worker failed: ${e.message || "error"}`));
      jobs.clear();
      worker.terminate();
      worker = null;
    };
  }
  return worker;
}

/**
 * Cut `file` out in the worker. Resolves to {rgba: Uint8ClampedArray, matte: Float32Array, low, lw, lh,
 * width, height, ms, runs, backend}; onProgress gets the worker's stage messages and
 * onReady({backend, threads, isolated}) the runtime it chose, once. best: the model runs on the image and
 * on its mirror image, the outputs averaged (alphacut's --quality best). preview: {side, size} to get a
 * provisional cut-out first (onPreview), from the model run at `side` px on the photo decoded at card size.
 */
/** Load the runtime and model in the worker now (private mode was chosen), so the first drop only runs it. */
export function warmUp(model, headers, { onProgress = () => {}, onReady = () => {} } = {}) {
  const q = new URLSearchParams(location.search), tuning = {};
  for (const k of ["threads", "graphopt", "backend"]) if (q.get(k)) tuning[k] = q.get(k);
  return new Promise((resolve, reject) => {
    const id = nextId++;
    jobs.set(id, { resolve, reject, onProgress, onReady, onPreview: () => {} });
    inferWorker().postMessage({ type: "warm", id, model, headers, tuning });
  });
}

export function cutPrivately(file, model, headers, { onProgress = () => {}, onReady = () => {}, onPreview = () => {},
  best = false, preview = null } = {}) {
  // bench knobs (bench/web_speed.py --query): onnxruntime-web's thread count and graph optimization level,
  // and the backend (webgpu: on any adapter, even a software one; wasm: never WebGPU)
  const q = new URLSearchParams(location.search), tuning = {};
  for (const k of ["threads", "graphopt", "backend"]) if (q.get(k)) tuning[k] = q.get(k);
  return new Promise((resolve, reject) => {
    const id = nextId++;
    jobs.set(id, { resolve, reject, onProgress, onReady, onPreview });
    inferWorker().postMessage({ type: "cut", id, file, model, headers, tuning, best, preview });
  });
}

/** The page's control to clear the kept model (model-cache.js): true if one was kept. */
export { forgetAll as forgetModel, isKept as modelIsKept } from "./model-cache.js";
