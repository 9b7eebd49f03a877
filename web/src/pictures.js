// Full-size picture work that must not run on the page's main thread: decoding a result to pixels,
// card-sized previews, the original framed like the output, the downloadable composite and its
// encoding. Used by the workers (image-worker.js, infer-worker.js); OffscreenCanvas only, no DOM.
import { drawComposite } from "./compose.js";
import { canvasMatrix, fitFrame } from "./framing.js";

/** Cards show previews at most this many pixels on their longer side (a card is ~300 CSS px wide). */
export const PREVIEW_PX = 720;

export function previewSize(w, h, maxPx = PREVIEW_PX) {
  const k = Math.min(1, maxPx / Math.max(w, h));
  return [Math.max(1, Math.round(w * k)), Math.max(1, Math.round(h * k))];
}

/** A Blob (or ImageBitmap) decoded to {rgba, width, height}, unpremultiplied, EXIF orientation applied. */
export async function decodePixels(source) {
  const bitmap = source instanceof Blob ? await createImageBitmap(source, { imageOrientation: "from-image",
    premultiplyAlpha: "none", colorSpaceConversion: "default" }) : source;
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  if (source instanceof Blob) bitmap.close();
  return { rgba: data, width: canvas.width, height: canvas.height };
}

/** RGBA pixels as a canvas of their size. */
export function pixelsCanvas(rgba, w, h) {
  const canvas = new OffscreenCanvas(w, h);
  canvas.getContext("2d").putImageData(new ImageData(rgba, w, h), 0, 0);
  return canvas;
}

/** A drawable scaled to fit maxPx, as an ImageBitmap (for a card). */
export function shrink(drawable, w, h, maxPx = PREVIEW_PX) {
  const [pw, ph] = previewSize(w, h, maxPx);
  const canvas = new OffscreenCanvas(pw, ph);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(drawable, 0, 0, pw, ph);
  return canvas.transferToImageBitmap();
}

/**
 * The original drawn in the output's frame at size (w, h): frame = {s, a, dx, dy, photoW, photoH, outW}
 * maps the photo (photoW×photoH) to output pixels (framing.js: output = s·R(a)·photo + (dx, dy)); the
 * canvas may be a scaled copy of the output (w / outW).
 */
export function framedOriginal(original, frame, w, h) {
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d");
  const k = w / frame.outW;
  ctx.imageSmoothingQuality = "high";
  ctx.scale(k, k);
  ctx.transform(...canvasMatrix(frame));
  ctx.drawImage(original, 0, 0, frame.photoW, frame.photoH);
  return canvas;
}

/** How the original maps onto the output: identity-like without a preset, fitted on the mattes with one. */
export function frameOf(cut, photo, photoMatte) {
  if (!photoMatte) {
    return { s: cut.width / photo.width, a: 0, dx: 0, dy: 0, err: 0, photoW: photo.width, photoH: photo.height,
      outW: cut.width, outH: cut.height, note: "before: the original photo" };
  }
  const t = fitFrame(cut, photoMatte);
  const exact = t.err < 8;
  const deg = (t.a * 180) / Math.PI;
  const turned = Math.abs(deg) >= 0.5 ? `, turned ${Math.abs(deg).toFixed(1)}° ${deg > 0 ? "clockwise" : "anticlockwise"}` : "";
  return { s: t.s, a: t.a, dx: t.dx, dy: t.dy, err: t.err, photoW: photoMatte.width, photoH: photoMatte.height,
    outW: cut.width, outH: cut.height,
    note: `before: the original framed like the output${turned} (matched on the mattes, mean difference ${(t.err / 2.55).toFixed(1)}%${exact ? "" : ", approximate"})` };
}

/** The card's two previews: the cutout and the original framed like it, both at preview size. */
export function previews(cutDrawable, original, frame) {
  const [pw, ph] = previewSize(frame.outW, frame.outH);
  const cut = shrink(cutDrawable, frame.outW, frame.outH);
  const before = framedOriginal(original, frame, pw, ph).transferToImageBitmap();
  return { cut, before };
}

/** The downloadable file: the cutout over its background at full size, encoded as PNG or WebP. */
export async function exportBlob({ rgba, width, height, original, frame, bg, fmt }) {
  const canvas = new OffscreenCanvas(width, height);
  const photo = bg.kind === "blur" ? framedOriginal(original, frame, width, height) : null;
  drawComposite(canvas, pixelsCanvas(rgba, width, height), photo, bg);
  return canvas.convertToBlob({ type: fmt === "webp" ? "image/webp" : "image/png", quality: 0.95 });
}
