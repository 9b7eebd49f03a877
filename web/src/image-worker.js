// The page's full-size picture work, off its main thread (pictures.js does the drawing): a server
// result decoded to pixels with its card previews and the original's frame, previews of an edited
// cutout, the original framed at full size for the editor, and the downloads (PNG/WebP, ZIP).
// Built as its own bundle; the page knows its hashed name as IMAGE_WORKER_URL (scripts/build.mjs).
//   in:  {id, type: "server"|"preview"|"frame"|"export"|"zip", ...}   out: {id, result} or {id, error}
import { zipSync } from "fflate";
import { decodePixels, exportBlob, frameOf, framedOriginal, pixelsCanvas, previews, shrink } from "./pictures.js";

const original = (file) => createImageBitmap(file, { imageOrientation: "from-image" });

const tasks = {
  /** {cutBlob, matteBlob?, file} -> {rgba, width, height, frame, cutPreview, beforePreview} */
  async server({ cutBlob, matteBlob, file }) {
    const [cut, matte, photo] = await Promise.all([decodePixels(cutBlob),
      matteBlob ? decodePixels(matteBlob) : null, original(file)]);
    const frame = frameOf(cut, photo, matte);
    const p = previews(pixelsCanvas(cut.rgba, cut.width, cut.height), photo, frame);
    photo.close();
    const result = { rgba: cut.rgba, width: cut.width, height: cut.height, frame, cutPreview: p.cut, beforePreview: p.before };
    return [result, [cut.rgba.buffer, p.cut, p.before]];
  },
  /** {rgba, width, height} -> the card's preview of an (edited) cutout */
  async preview({ rgba, width, height }) {
    const bitmap = shrink(pixelsCanvas(rgba, width, height), width, height);
    return [bitmap, [bitmap]];
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
  /** {rgba, width, height, file, frame, bg, fmt} -> Blob */
  async export(job) {
    const photo = job.bg.kind === "blur" ? await original(job.file) : null;
    const blob = await exportBlob({ ...job, original: photo });
    photo?.close();
    return [blob, []];
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
