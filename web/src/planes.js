// Float32 planes and 8-bit pixels: the resampling and box filtering that web/src/refine.js builds on,
// ported from alphacut's ops/resize.py and ops/guided.py so their results follow numpy's to ~1e-6.
// Pure functions on typed arrays, no DOM.

export const f32 = Math.fround;
export const U8_SCALE = f32(1 / 255);
export const U8_FLOAT = Float32Array.from({ length: 256 }, (_, v) => v * U8_SCALE); // u8_to_float

/** Python's round() of a float: half to even (round(300.5) == 300). */
export function pyRound(x) {
  const f = Math.floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** A [0, 1] value as 0..255 like alphacut.io.encode.float_to_u8 (float32 x*255, rint half to even). */
export function toU8(x) {
  const y = f32(x * 255);
  if (!(y > 0)) return 0;
  if (y >= 255) return 255;
  return pyRound(y);
}

/**
 * Mean over the (2r+1)² window clipped at the borders (ops/guided.py box_filter): a running sum down
 * the columns, then along the rows, each divided by the count of in-image pixels. O(w·h) for any r.
 */
export function boxFilter(src, w, h, r, out = new Float32Array(w * h)) {
  if (r === 0) {
    out.set(src);
    return out;
  }
  const tmp = new Float32Array(w * h);
  const acc = new Float64Array(w);
  for (let y = 0; y <= Math.min(r, h - 1); y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) acc[x] += src[o + x];
  }
  for (let y = 0; y < h; y++) {
    const inv = 1 / (Math.min(h - 1, y + r) - Math.max(0, y - r) + 1);
    const o = y * w;
    for (let x = 0; x < w; x++) tmp[o + x] = acc[x] * inv;
    const add = y + r + 1, sub = y - r;
    if (add < h && sub >= 0) {
      const a = add * w, s = sub * w;
      for (let x = 0; x < w; x++) acc[x] += src[a + x] - src[s + x];
    } else if (add < h) {
      const a = add * w;
      for (let x = 0; x < w; x++) acc[x] += src[a + x];
    } else if (sub >= 0) {
      const s = sub * w;
      for (let x = 0; x < w; x++) acc[x] -= src[s + x];
    }
  }
  const inv = new Float64Array(w);
  for (let x = 0; x < w; x++) inv[x] = 1 / (Math.min(w - 1, x + r) - Math.max(0, x - r) + 1);
  // x < addEnd: x + r + 1 enters the window; x >= r: x - r leaves it (branch-free inner loops)
  const addEnd = Math.max(0, Math.min(w, w - r - 1)), subStart = Math.min(w, r);
  const reach = Math.min(r, w - 1);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    let s = 0;
    for (let x = 0; x <= reach; x++) s += tmp[o + x];
    let x = 0;
    for (const end = Math.min(addEnd, subStart); x < end; x++) {
      out[o + x] = s * inv[x];
      s += tmp[o + x + r + 1];
    }
    if (addEnd < subStart) {
      for (; x < subStart; x++) out[o + x] = s * inv[x];
    } else {
      for (; x < addEnd; x++) {
        out[o + x] = s * inv[x];
        s += tmp[o + x + r + 1] - tmp[o + x - r];
      }
    }
    for (; x < w; x++) {
      out[o + x] = s * inv[x];
      s -= tmp[o + x - r];
    }
  }
  return out;
}

/**
 * Resampling taps along one axis as ops/resize.py _taps: triangle filter, half-pixel centres, widened
 * by the shrink factor when antialias, taps outside [0, inSize) dropped and the rest renormalised.
 * Per output pixel: first input index, count, and k float32 weights.
 */
export function resampleTaps(inSize, outSize, antialias = true, start = 0, end = inSize) {
  const scale = (end - start) / outSize;
  const filterScale = antialias ? Math.max(scale, 1) : 1;
  const support = filterScale;
  const first = new Int32Array(outSize), count = new Int32Array(outSize);
  const rows = [];
  let k = 1;
  for (let o = 0; o < outSize; o++) {
    const centre = start + (o + 0.5) * scale;
    let lo = Math.max(Math.floor(centre - support + 0.5), 0);
    let hi = Math.min(Math.floor(centre + support + 0.5), inSize);
    hi = Math.max(hi, lo + 1);
    lo = Math.min(lo, inSize - 1);
    hi = Math.min(Math.max(hi, lo + 1), inSize);
    const wts = new Float64Array(hi - lo);
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const d = (i + 0.5 - centre) / filterScale;
      const v = Math.max(1 - Math.abs(d), 0);
      wts[i - lo] = v;
      total += v;
    }
    if (total > 0) for (let i = 0; i < wts.length; i++) wts[i] /= total;
    first[o] = lo;
    count[o] = hi - lo;
    rows.push(wts);
    k = Math.max(k, hi - lo);
  }
  const weights = new Float32Array(outSize * k); // float32, as _taps returns them
  rows.forEach((wts, o) => weights.set(wts, o * k));
  return { first, count, weights, k };
}

/**
 * Resize 8-bit pixels (stride 3 or 4, the first three channels read) to outW×outH as three float32
 * planes in [0, 1]: ops/resize.py resize_u8 (antialiased bilinear, height first, then width).
 */
export function resizeU8(pix, stride, w, h, outW, outH) {
  const ty = resampleTaps(h, outH), tx = resampleTaps(w, outW);
  const tall = [0, 1, 2].map(() => new Float32Array(w * outH));
  const [t0, t1, t2] = tall;
  const rowStride = w * stride;
  for (let y = 0; y < outH; y++) {
    const count = ty.count[y], kb = y * ty.k, o = y * w;
    for (let x = 0, px = ty.first[y] * rowStride; x < w; x++, px += stride) {
      let a0 = 0, a1 = 0, a2 = 0;
      for (let j = 0, p = px; j < count; j++, p += rowStride) {
        const wt = ty.weights[kb + j];
        a0 += wt * U8_FLOAT[pix[p]];
        a1 += wt * U8_FLOAT[pix[p + 1]];
        a2 += wt * U8_FLOAT[pix[p + 2]];
      }
      t0[o + x] = a0;
      t1[o + x] = a1;
      t2[o + x] = a2;
    }
  }
  if (outW === w) return tall;
  return tall.map((plane) => resizeRows(plane, w, outH, tx, outW));
}

/** Resample each row of an h-row plane of width w with taps tx to width outW. */
function resizeRows(plane, w, h, tx, outW) {
  const out = new Float32Array(outW * h);
  for (let y = 0; y < h; y++) {
    const o = y * w, q = y * outW;
    for (let x = 0; x < outW; x++) {
      let v = 0;
      const f = o + tx.first[x], kb = x * tx.k;
      for (let j = 0; j < tx.count[x]; j++) v += plane[f + j] * tx.weights[kb + j];
      out[q + x] = v;
    }
  }
  return out;
}

/** Two-tap (enlarging) bilinear taps as flat arrays: index 0 and 1 and their weights. */
export function twoTaps(inSize, outSize, start = 0, end = inSize) {
  const t = resampleTaps(inSize, outSize, false, start, end);
  if (t.k > 2) throw new Error(`expected an enlargement, got ${inSize} -> ${outSize}`);
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize), w1 = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    i0[o] = t.first[o];
    w0[o] = t.weights[o * t.k];
    const two = t.count[o] === 2;
    i1[o] = two ? t.first[o] + 1 : t.first[o];
    w1[o] = two ? t.weights[o * t.k + 1] : 0;
  }
  return { i0, i1, w0, w1 };
}

/** 8-bit pixels as three float32 planes, value / 255 (ops/guided.py _float_rows). */
export function u8Planes(pix, stride, w, h) {
  const planes = [0, 1, 2].map(() => new Float32Array(w * h));
  for (let i = 0, p = 0; i < w * h; i++, p += stride) {
    planes[0][i] = U8_FLOAT[pix[p]];
    planes[1][i] = U8_FLOAT[pix[p + 1]];
    planes[2][i] = U8_FLOAT[pix[p + 2]];
  }
  return planes;
}
