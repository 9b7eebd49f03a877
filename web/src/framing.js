// How the original photo maps onto a cutout's frame (pictures.js draws it), so that before/after
// compares like with like and the editor's restore brush brings back the photo's own pixels where the
// output has them.
// Without a preset the output has the photo's frame. With one (crop, canvas, head framing) the
// server says only the result, so the frame is recovered from the two mattes it returned: the
// photo-framed matte and the output's alpha are matched by a similarity (a uniform scale, a shift, and
// a rotation: the ID-photo presets turn the photo to level the eyes, up to 20 degrees): first from the
// sides of their subject boxes that the canvas does not cut, then refined by a pattern search on the
// mattes' mean difference, from several starting angles.
// A transform t = {s, a, dx, dy} maps a photo point p to s·R(a)·p + (dx, dy) in the output (R: the
// canvas's rotation, clockwise on screen for a > 0): ctx.setTransform(...canvasMatrix(t)).

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

/** The photo point that t places at output point (x, y). */
function toPhoto(t, x, y) {
  const c = Math.cos(t.a || 0), sn = Math.sin(t.a || 0), u = x - t.dx, v = y - t.dy;
  return [(c * u + sn * v) / t.s, (-sn * u + c * v) / t.s];
}

/** t as the arguments of a canvas's setTransform(a, b, c, d, e, f). */
export function canvasMatrix(t) {
  const c = Math.cos(t.a || 0) * t.s, sn = Math.sin(t.a || 0) * t.s;
  return [c, sn, -sn, c, t.dx, t.dy];
}

/** t changed to scale s and angle a, keeping the photo point at output point (cx, cy) in place. */
function about(t, s, a, cx, cy) {
  const [px, py] = toPhoto(t, cx, cy), c = Math.cos(a) * s, sn = Math.sin(a) * s;
  return { s, a, dx: cx - (c * px - sn * py), dy: cy - (sn * px + c * py) };
}

/**
 * Mean |output alpha - photo matte placed by t = {s, a, dx, dy}| over a grid of at most ~100×100 output points,
 * both in 0..255. matte: {values, stride, offset, w, h}.
 */
export function misfit(t, out, matte, grid = 100) {
  const step = Math.max(1, Math.ceil(Math.max(out.w, out.h) / grid));
  let sum = 0, n = 0;
  const c = Math.cos(t.a || 0) / t.s, sn = Math.sin(t.a || 0) / t.s;
  for (let y = step / 2; y < out.h; y += step) {
    for (let x = step / 2; x < out.w; x += step) {
      const u = x - t.dx, v = y - t.dy;
      const sx = Math.floor(c * u + sn * v), sy = Math.floor(-sn * u + c * v);
      const a = out.values[(Math.floor(y) * out.w + Math.floor(x)) * out.stride + out.offset];
      const b = sx >= 0 && sy >= 0 && sx < matte.w && sy < matte.h ? matte.values[(sy * matte.w + sx) * matte.stride + matte.offset] : 0;
      sum += Math.abs(a - b);
      n++;
    }
  }
  return sum / n;
}

/** Pattern search around t: scale by ×(1±k), angle by ±r (if turn), shifts by ±d px, halving until sub-pixel. */
export function refineFit(t, out, matte, turn = true) {
  let best = { a: 0, ...t, err: 0 };
  best.err = misfit(best, out, matte);
  let k = 0.08, r = 0.05, d = Math.max(out.w, out.h) * 0.05;
  const cx = out.w / 2, cy = out.h / 2; // scale and angle turn about the output's centre
  while (d > 0.25 || k > 0.002 || (turn && r > 0.0005)) {
    let moved = false;
    const turns = turn ? [about(best, best.s, best.a + r, cx, cy), about(best, best.s, best.a - r, cx, cy)] : [];
    for (const cand of [about(best, best.s * (1 + k), best.a, cx, cy), about(best, best.s / (1 + k), best.a, cx, cy),
      ...turns,
      { ...best, dx: best.dx + d }, { ...best, dx: best.dx - d }, { ...best, dy: best.dy + d }, { ...best, dy: best.dy - d }]) {
      const err = misfit(cand, out, matte);
      if (err < best.err) {
        best = { ...cand, err };
        moved = true;
      }
    }
    if (!moved) {
      k /= 2;
      r /= 2;
      d /= 2;
    }
  }
  return best;
}

/**
 * The transform placing the photo in the output: {s, a, dx, dy, err} (see the top of this file);
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
  // Unturned first: the usual case, and a round subject says nothing about an angle.
  const flat = refineFit({ a: 0, ...start }, out, matte, false);
  if (flat.err < 1) return flat; // as close as the mattes' own rounding
  // The ID-photo presets may have turned the photo (2 to 20 degrees either way, alphacut.portrait's
  // LEVEL_MIN_DEG/LEVEL_MAX_DEG): refine from several starting angles about the output's centre; a turn
  // is kept only when it is one the server makes (over 1 degree) and fits clearly better.
  let best = flat;
  for (const deg of [0, -6, 6, -12, 12, -18, 18]) {
    const t = refineFit(about({ a: 0, ...start }, start.s, (deg * Math.PI) / 180, out.w / 2, out.h / 2), out, matte);
    if (Math.abs(t.a) > Math.PI / 180 && t.err < best.err) best = t;
  }
  return best.err < flat.err - 0.25 ? best : flat;
}
