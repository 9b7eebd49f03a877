// The page's full-size picture work, off its main thread (pictures.js does the drawing): a server
// result decoded to pixels with its card previews and the original's frame, previews of an edited
// cutout, the original framed at full size for the editor, and the downloads (PNG/WebP, ZIP).
// The cards' full-size cutouts live here, by card key: the page's main thread never copies them
// (a structured clone of a 12 MP cutout cost it 130-160 ms of CPU per download); the editor gets a copy.
// Built as its own bundle; the page knows its hashed name as IMAGE_WORKER_URL (scripts/build.mjs).
// It also refines private mode's cutouts (refine.js) and computes the editor's edge-aware brush targets
// (brush.js) on a stroke's box.
//   in:  {id, type: "server"|"refine"|"store"|"cutout"|"frame"|"export"|"edge"|"zip", ...}
//   out: {id, result} or {id, error}
import { zipSync } from "fflate";
import { edgeAwareTarget } from "./brush.js";
import { decodePixels, exportBlob, frameOf, framedOriginal, pixelsCanvas, previews, shrink } from "./pictures.js";
import { cutoutRGBA } from "./refine.js";

const original = (file) => createImageBitmap(file, { imageOrientation: "from-image" });
const cutouts = new Map(); // card key -> {rgba, width, height}, the card's current full-size cutout

function stored(key) {
  const cut = cutouts.get(key);
  if (!cut) throw new Error("this card's cutout is not in the image worker (reload the page and try again)");
  return cut;
}

const tasks = {
  /** {key, cutBlob, matteBlob?, file} -> {width, height, frame, cutPreview, beforePreview}; keeps the cutout */
  async server({ key, cutBlob, matteBlob, file }) {
    const [cut, matte, photo] = await Promise.all([decodePixels(cutBlob),
      matteBlob ? decodePixels(matteBlob) : null, original(file)]);
    const frame = frameOf(cut, photo, matte);
    const p = previews(pixelsCanvas(cut.rgba, cut.width, cut.height), photo, frame);
    photo.close();
    cutouts.set(key, cut);
    return [{ width: cut.width, height: cut.height, frame, cutPreview: p.cut, beforePreview: p.before }, [p.cut, p.before]];
  },
  /**
   * Private mode's second half: {key, low, lw, lh, rgba, width, height, bitmap} (the model's matte, the
   * photo's pixels and bitmap from infer-worker.js) -> the refined cutout (kept here), the full-size matte,
   * the card's previews and timings (refine.js cutoutRGBA: guided upsampling and decontamination).
   */
  async refine({ key, low, lw, lh, rgba, width, height, bitmap }) {
    const r = cutoutRGBA(low, lw, lh, rgba, width, height);
    const t0 = performance.now();
    const frame = frameOf({ width, height }, bitmap, null);
    const p = previews(pixelsCanvas(r.rgba, width, height), bitmap, frame);
    bitmap.close();
    cutouts.set(key, { rgba: r.rgba, width, height });
    const ms = { refine: r.ms.refine, decontaminate: r.ms.decontaminate, previews: performance.now() - t0 };
    return [{ matte: r.matte, width, height, frame, cutPreview: p.cut, beforePreview: p.before, guided: r.guided,
      softPixels: r.softPixels, ms }, [r.matte.buffer, p.cut, p.before]];
  },
  /** {key, rgba, width, height, preview?} -> keeps the cutout (a private-mode result, an edit); its card preview if asked */
  async store({ key, rgba, width, height, preview }) {
    cutouts.set(key, { rgba, width, height });
    if (!preview) return [null, []];
    const bitmap = shrink(pixelsCanvas(rgba, width, height), width, height);
    return [bitmap, [bitmap]];
  },
  /** {key} -> {rgba, width, height}: a copy of the card's cutout (for the editor, and the tests) */
  async cutout({ key }) {
    const cut = stored(key);
    const rgba = cut.rgba.slice();
    return [{ rgba, width: cut.width, height: cut.height }, [rgba.buffer]];
  },
  /** {file, frame} -> {bitmap, rgba}: the original in the output's frame at full size (for the editor) */
  async frame({ file, frame }) {
    const photo = await original(file);
    const canvas = framedOriginal(photo, frame, frame.outW, frame.outH);
    photo.close();
    const rgba = canvas.getContext("2d").getImageData(0, 0, frame.outW, frame.outH).data;
    const bitmap = canvas.transferToImageBitmap();
    return [{ bitmap, rgba }, [bitmap, rgba.buffer]];
  },
  /** {key, file, frame, bg, fmt} -> Blob */
  async export(job) {
    const cut = stored(job.key);
    const photo = job.bg.kind === "blur" ? await original(job.file) : null;
    const blob = await exportBlob({ ...job, ...cut, original: photo });
    photo?.close();
    return [blob, []];
  },
  /** {base, photo, mask, bw, bh, target, radius}: an editor stroke's box -> its edge-aware targets (brush.js) */
  async edge({ base, photo, mask, bw, bh, target, radius }) {
    const out = edgeAwareTarget(base, photo, mask, bw, [0, 0, bw, bh], target, radius);
    return [out, [out.buffer]];
  },
  /** {files: {name: Blob}} -> Blob (a ZIP, stored) */
  async zip({ files }) {
    const entries = {};
    for (const [name, blob] of Object.entries(files)) entries[name] = [new Uint8Array(await blob.arrayBuffer()), { level: 0 }];
    return [new Blob([zipSync(entries)], { type: "application/zip" }), []];
  },
};

self.onmessage = async ({ data }) => {
  try {
    const [result, transfer] = await tasks[data.type](data);
    self.postMessage({ id: data.id, result }, transfer);
  } catch (e) {
    self.postMessage({ id: data.id, error: e.message || String(e) });
  }
};
