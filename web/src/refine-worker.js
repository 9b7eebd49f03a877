// The private mode's edge refinement (refine.js) off the page's main thread: on a 12 MP photo it
// takes a second or two, and the page stays responsive meanwhile. Built as its own bundle; the page
// knows its hashed name as REFINE_WORKER_URL (scripts/build.mjs).
import { cutoutRGBA } from "./refine.js";

self.onmessage = ({ data }) => {
  const { id, low, lw, lh, rgba, width, height } = data;
  try {
    const result = cutoutRGBA(low, lw, lh, rgba, width, height);
    self.postMessage({ id, ...result }, [result.rgba.buffer, result.matte.buffer]);
  } catch (e) {
    self.postMessage({ id, error: e.message || String(e) });
  }
};
