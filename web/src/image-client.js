// The page's side of image-worker.js: one promise per task; what is listed in `transfer` is moved, not copied.
let worker = null;
let nextId = 0;
const pending = new Map();

function imageWorker() {
  if (!worker) {
    // IMAGE_WORKER_URL is set at build time (scripts/build.mjs) to the worker bundle's hashed name.
    worker = new Worker(IMAGE_WORKER_URL, { type: "module" });
    worker.onmessage = ({ data }) => {
      const job = pending.get(data.id);
      pending.delete(data.id);
      if (data.error !== undefined) job.reject(new Error(data.error));
      else job.resolve(data.result);
    };
    worker.onerror = (e) => {
      for (const job of pending.values()) job.reject(new Error(`the image worker failed: ${e.message || "error"}`));
      pending.clear();
      worker.terminate();
      worker = null;
    };
  }
  return worker;
}

/** Run one of image-worker.js's tasks ("server", "refine", "store", "cutout", "frame", "export", "edge", "zip"). */
export function imageTask(type, payload, transfer = []) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    imageWorker().postMessage({ ...payload, type, id }, transfer);
  });
}
