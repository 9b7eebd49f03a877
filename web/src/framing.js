// How the original photo maps onto a cutout's frame (pictures.js draws it), so that before/after compares like with like and the
// editor's restore brush brings back the photo's own pixels where the output has them.
// Without a preset the output has the photo's frame. With one (crop, canvas, head framing) the
// server says only the result, so the frame is recovered from the two mattes it returned: the
// photo-framed matte and the output's alpha are matched by a scale and an offset (the layouts are
// all a uniform scale plus a shift): first from the sides of their subject boxes that the canvas does
// not cut, then refined by a pattern search on the mattes' mean difference.

const LEVEL = 128; // the subject is where alpha >= 0.5, as the layout's own boxes

/** Box [x0, y0, x1, y1] (x1, y1 exclusive) of the pixels with value >= LEVEL, or null. */
export function subjectBox(values, stride, offset, w, h) {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0, p = y * w * stride + offset; x < w; x++, p += stride) {
      if (values[p] >= LEVEL) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
}

/** Scale and shift from the box sides the canvas does not cut (null when they don't determine it). */
function fromBoxes(b0, b1, w, h) {
  const free = [b1[0] > 1, b1[1] > 1, b1[2] < w - 1, b1[3] < h - 1]; // left, top, right, bottom uncut
  const scales = [];
  if (free[0] && free[2]) scales.push((b1[2] - b1[0]) / Math.max(1, b0[2] - b0[0]));
  if (free[1] && free[3]) scales.push((b1[3] - b1[1]) / Math.max(1, b0[3] - b0[1]));
  if (!scales.length) return null;
  const s = scales.reduce((a, b) => a + b) / scales.length;
  const shift = (lo, hi, i0, i1) => {
    const c = [];
    if (lo) c.push(b1[i0] - s * b0[i0]);
    if (hi) c.push(b1[i1] - s * b0[i1]);
    return c.length ? c.reduce((a, b) => a + b) / c.length : null;
  };
  const dx = shift(free[0], free[2], 0, 2), dy = shift(free[1], free[3], 1, 3);
  return { s, dx: dx ?? (w - s * (b0[0] + b0[2])) / 2, dy: dy ?? (h - s * (b0[1] + b0[3])) / 2 };
}

/**
 * Mean |output alpha - photo matte placed by (s, dx, dy)| over a grid of at most ~100×100 output points,
 * both in 0..255. matte: {values, stride, offset, w, h}.
 */
export function misfit(t, out, matte, grid = 100) {
  const step = Math.max(1, Math.ceil(Math.max(out.w, out.h) / grid));
  let sum = 0, n = 0;
  for (let y = step / 2; y < out.h; y += step) {
    const sy = Math.floor((y - t.dy) / t.s);
    for (let x = step / 2; x < out.w; x += step) {
      const sx = Math.floor((x - t.dx) / t.s);
      const a = out.values[(Math.floor(y) * out.w + Math.floor(x)) * out.stride + out.offset];
      const b = sx >= 0 && sy >= 0 && sx < matte.w && sy < matte.h ? matte.values[(sy * matte.w + sx) * matte.stride + matte.offset] : 0;
      sum += Math.abs(a - b);
      n++;
    }
  }
  return sum / n;
}

/** Pattern search around t: scale by ×(1±k), shifts by ±d px, halving until sub-pixel. */
export function refineFit(t, out, matte) {
  let best = { ...t, err: misfit(t, out, matte) };
  let k = 0.08, d = Math.max(out.w, out.h) * 0.05;
  while (d > 0.25 || k > 0.002) {
    let moved = false;
    for (const c of [{ s: best.s * (1 + k) }, { s: best.s / (1 + k) }, { dx: best.dx + d }, { dx: best.dx - d },
      { dy: best.dy + d }, { dy: best.dy - d }]) {
      // keep the subject's centre fixed when only the scale changes
      const cand = { ...best, ...c };
      if (c.s) {
        const cx = out.w / 2, cy = out.h / 2;
        cand.dx = cx - ((cx - best.dx) * c.s) / best.s;
        cand.dy = cy - ((cy - best.dy) * c.s) / best.s;
      }
      const err = misfit(cand, out, matte);
      if (err < best.err) {
        best = { ...cand, err };
        moved = true;
      }
    }
    if (!moved) {
      k /= 2;
      d /= 2;
    }
  }
  return best;
}

/**
 * The transform placing the photo in the output: {s, dx, dy, err} with output = s·photo + (dx, dy);
 * err is the remaining mean alpha difference (0..255). cut: {rgba, width, height}; photoMatte: the
 * server's mask (RGBA pixels of a greyscale PNG) at the photo's size.
 */
export function fitFrame(cut, photoMatte) {
  const out = { values: cut.rgba, stride: 4, offset: 3, w: cut.width, h: cut.height };
  const matte = { values: photoMatte.rgba, stride: 4, offset: 0, w: photoMatte.width, h: photoMatte.height };
  const b1 = subjectBox(out.values, 4, 3, out.w, out.h), b0 = subjectBox(matte.values, 4, 0, matte.w, matte.h);
  let start = b0 && b1 ? fromBoxes(b0, b1, out.w, out.h) : null;
  if (!start) { // no uncut pair of sides: try scales from "photo fits" to "box fills", keep the best
    let best = null;
    const fit = Math.min(out.w / matte.w, out.h / matte.h);
    for (let s = fit / 2; s <= fit * 16; s *= 1.15) {
      const t = { s, dx: (out.w - s * matte.w) / 2, dy: (out.h - s * matte.h) / 2 };
      if (b0 && b1) {
        t.dx = (b1[0] + b1[2]) / 2 - (s * (b0[0] + b0[2])) / 2;
        t.dy = b1[1] - s * b0[1];
      }
      const err = misfit(t, out, matte, 48);
      if (!best || err < best.err) best = { ...t, err };
    }
    start = best;
  }
  return refineFit(start, out, matte);
}
