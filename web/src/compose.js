// Backgrounds behind a cutout, drawn in the page for both modes: transparent, a colour,
// a blurred copy of the original, or an image of the user's (scaled to cover, centred). Works on
// canvases and OffscreenCanvases alike (the image worker composes the downloads).

/** Draw `cutout` (a canvas/bitmap, RGBA) over the chosen background into `canvas`. */
export function drawComposite(canvas, cutout, original, bg) {
  const w = cutout.width, h = cutout.height;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  if (bg.kind === "color") {
    ctx.fillStyle = bg.color;
    ctx.fillRect(0, 0, w, h);
  } else if (bg.kind === "blur") {
    drawBlurred(ctx, original, w, h);
  } else if (bg.kind === "image" && bg.image) {
    drawCover(ctx, bg.image, w, h);
  }
  ctx.drawImage(cutout, 0, 0);
}

function drawCover(ctx, img, w, h) {
  const s = Math.max(w / img.width, h / img.height);
  const dw = img.width * s, dh = img.height * s;
  ctx.drawImage(img, (w - dw) / 2, (h - dh) / 2, dw, dh);
}

// Blur by shrinking and growing again with smoothing: works in every browser (no ctx.filter).
function drawBlurred(ctx, original, w, h) {
  const factor = Math.max(8, Math.round(Math.max(w, h) / 48));
  let cur = original, cw = w, ch = h;
  while (cw / 2 >= w / factor && ch / 2 >= 2) {
    cw = Math.max(1, Math.round(cw / 2));
    ch = Math.max(1, Math.round(ch / 2));
    const c = new OffscreenCanvas(cw, ch);
    const cx = c.getContext("2d");
    cx.imageSmoothingQuality = "high";
    cx.drawImage(cur, 0, 0, cw, ch);
    cur = c;
  }
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(cur, 0, 0, w, h);
}
