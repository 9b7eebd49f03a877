// Pre- and post-processing for private (in-browser) mode, matching alphacut's Python pipeline:
//   resize  = Pillow's BICUBIC when enlarging along both axes, else BILINEAR, on 8-bit RGB (support
//             widened by the shrink factor, half-pixel centres, 22-bit fixed-point weights, one pass
//             per axis, each rounded to 8 bits: io.decode.resize_for_model), so the model sees the
//             very bytes Python feeds it;
//   input   = (x / 255 - mean) / std, NCHW float32, the image at the top left, the rest mirrored from it,
//             all of it mirrored left-right when the model's catalog says `mirror` (modelInput);
//   best    = the model on the image and on its mirror image, the outputs averaged (mirrorMean);
//   output  = output 0 (sigmoid if the catalog says so) clipped to [0, 1];
//   matte   = triangle filter, half-pixel centres (bilinear up, antialiased down: ops.resize.resize_matte).
// Pure functions on typed arrays: no DOM, so Node can test them against Pillow.

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

function triangle(x) {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Pillow's bicubic_filter (a = -0.5). */
function cubic(x) {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

const FILTERS = { bilinear: [triangle, 1], bicubic: [cubic, 2] };

/** Pillow's precompute_coeffs for BILINEAR or BICUBIC: per output pixel, [first, count] and integer weights. */
export function resampleCoeffs(inSize, outSize, filterName = "bilinear") {
  const [filter, filterSupport] = FILTERS[filterName];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filterSupport * filterscale; // widened when shrinking (antialiasing)
  const ss = 1 / filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    const k = new Float64Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const w = filter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      // normalize_coeffs_8bpc: round half away from zero to 22-bit fixed point
      weights[xx * ksize + x] = v < 0 ? Math.trunc(v * ONE - 0.5) : Math.trunc(v * ONE + 0.5);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

function clip8(acc) {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resizeAxis(src, w, h, outW, outH, horizontal, filterName) {
  // one pass along x (horizontal) or y, 8-bit in, 8-bit out, exactly as Pillow's 8bpc kernels
  const n = horizontal ? w : h, nOut = horizontal ? outW : outH;
  const { bounds, weights, ksize } = resampleCoeffs(n, nOut, filterName);
  const ow = horizontal ? outW : w, oh = horizontal ? h : outH;
  const out = new Uint8Array(ow * oh * 3);
  const step = horizontal ? 3 : w * 3; // distance between neighbours along the axis
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const o = horizontal ? x : y;
      const first = bounds[o * 2], count = bounds[o * 2 + 1], kb = o * ksize;
      let p = horizontal ? (y * w + first) * 3 : (first * w + x) * 3;
      let r = ONE / 2, g = ONE / 2, b = ONE / 2;
      for (let i = 0; i < count; i++, p += step) {
        const k = weights[kb + i];
        r += src[p] * k; g += src[p + 1] * k; b += src[p + 2] * k;
      }
      const q = (y * ow + x) * 3;
      out[q] = clip8(r); out[q + 1] = clip8(g); out[q + 2] = clip8(b);
    }
  }
  return out;
}

/**
 * Resize packed RGB (3 bytes per pixel) from w×h to outW×outH like alphacut.io.decode.resize_for_model:
 * Pillow's Image.resize(size, BICUBIC) when enlarging along both axes, else BILINEAR. Identical
 * bytes when Pillow makes its horizontal pass first (always for landscape photos shrunk to the
 * model's input). Pillow 13 sometimes makes the vertical pass first; we do so when the vertical
 * shrink is the larger one, which matches it in most of the other cases and otherwise differs by
 * at most 1 in a few pixels.
 */
export function resizeRGB(src, w, h, outW, outH) {
  const needH = outW !== w, needV = outH !== h;
  if (!needH && !needV) return new Uint8Array(src);
  const f = outW >= w && outH >= h ? "bicubic" : "bilinear";
  if (!needV) return resizeAxis(src, w, h, outW, h, true, f);
  if (!needH) return resizeAxis(src, w, h, w, outH, false, f);
  if (h / outH > w / outW) {
    const tmp = resizeAxis(src, w, h, w, outH, false, f);
    return resizeAxis(tmp, w, outH, outW, outH, true, f);
  }
  const tmp = resizeAxis(src, w, h, outW, h, true, f);
  return resizeAxis(tmp, outW, h, outW, outH, false, f);
}

/**
 * Where the image sits in the model input (alphacut.pipeline.content_size): its aspect ratio is the
 * geometric mean of its own and the input's, its longer side spans the input; returns [cw, ch].
 */
export function contentSize(w, h, mw, mh) {
  const aspect = Math.sqrt((w / h) * (mw / mh));
  const [cw, ch] = aspect >= mw / mh ? [mw, mw / aspect] : [mh * aspect, mh];
  return [Math.min(mw, Math.max(1, Math.floor(cw + 0.5))), Math.min(mh, Math.max(1, Math.floor(ch + 0.5)))];
}

export function rgbaToRGB(rgba, w, h) {
  const out = new Uint8Array(w * h * 3);
  let hasAlpha = false;
  for (let i = 0, j = 0; i < w * h * 4; i += 4, j += 3) {
    const a = rgba[i + 3];
    if (a === 255) {
      out[j] = rgba[i]; out[j + 1] = rgba[i + 1]; out[j + 2] = rgba[i + 2];
    } else {
      hasAlpha = true;
      const f = a / 255;
      for (let c = 0; c < 3; c++) out[j + c] = Math.round((rgba[i + c] / 255 * f + (1 - f)) * 255);
    }
  }
  return { rgb: out, hasAlpha };
}

/** Packed RGB → 1×3×H×W float32, (x/255 - mean) / std per channel. */
export function normalize(rgb, w, h, mean, std) {
  const plane = w * h;
  const out = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const m = mean[c], s = std[c], base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (rgb[i * 3 + c] / 255 - m) / s;
  }
  return out;
}

/** Index i of an axis of n mirrored past its end, as numpy's "symmetric" padding: 0 1 2 | 2 1 0 | 0 1 2 … */
export function mirrorIndex(i, n) {
  const m = i % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

/**
 * 3 planes of w×h → 3 planes of outW×outH, the image at the top left and mirrored at its bottom and
 * right edges into the rest (alphacut.pipeline.preprocess: np.pad(..., mode="symmetric")).
 */
export function padMirror(planes, w, h, outW, outH) {
  if (w === outW && h === outH) return planes;
  const out = new Float32Array(outW * outH * 3);
  const sx = new Int32Array(outW);
  for (let x = 0; x < outW; x++) sx[x] = mirrorIndex(x, w);
  for (let c = 0; c < 3; c++) {
    const src = c * w * h, dst = c * outW * outH;
    for (let y = 0; y < outH; y++) {
      const row = src + mirrorIndex(y, h) * w, o = dst + y * outW;
      for (let x = 0; x < outW; x++) out[o + x] = planes[row + sx[x]];
    }
  }
  return out;
}

/** 3 planes of w×h, each row mirrored left-right, as numpy's x[..., ::-1] on an NCHW input. */
export function flipPlanes(planes, w, h) {
  const out = new Float32Array(planes.length);
  for (let r = 0; r < 3 * h; r++) {
    const o = r * w;
    for (let x = 0; x < w; x++) out[o + x] = planes[o + w - 1 - x];
  }
  return out;
}

/**
 * The model input for packed RGB w×h (alphacut.pipeline.preprocess): {input: 1×3×mh×mw float32, cw, ch}.
 * The image is resized to contentSize at the top left, normalized, and mirrored at its bottom and right
 * edges into the rest. mirrored: that whole input mirrored left-right (the image at the top right; the
 * model's catalog field `mirror`, or the second run of "best" quality); cropOutput(..., mirrored) flips
 * the output back.
 */
export function modelInput(rgb, w, h, mw, mh, mean, std, mirrored = false) {
  const [cw, ch] = contentSize(w, h, mw, mh);
  const input = padMirror(normalize(resizeRGB(rgb, w, h, cw, ch), cw, ch, mean, std), cw, ch, mw, mh);
  return { input: mirrored ? flipPlanes(input, mw, mh) : input, cw, ch };
}

/**
 * The image's part (cw×ch at the top left) of the model's first output (row length mw), as a new
 * Float32Array; mirrored: for an input made with modelInput(..., mirrored), the output flipped back
 * left-right first (alphacut.pipeline.unmirror), so the image's part is read from the top right.
 */
export function cropOutput(data, mw, cw, ch, mirrored = false) {
  const out = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y++) {
    if (!mirrored) out.set(data.subarray(y * mw, y * mw + cw), y * cw);
    else for (let x = 0, i = y * mw + mw - 1; x < cw; x++, i--) out[y * cw + x] = data[i];
  }
  return out;
}

/**
 * "Best" quality's fusion (alphacut.pipeline.mirror_mean), in place in `a`: the mean of the output for the
 * image (a) and, already flipped back by cropOutput, for its mirror image (b); float32 steps as numpy's.
 */
export function mirrorMean(a, b) {
  for (let i = 0; i < a.length; i++) a[i] = Math.fround(a[i] + b[i]) * 0.5;
  return a;
}

/**
 * The value curve of alphacut.ops.levels.apply_levels, in place: the piecewise-linear curve through
 * (0, 0), (lo, tail), (hi, 1 - tail), (1, 1), with numpy's float32 steps and branches.
 */
export function applyLevels(m, [lo, hi, tail = 0]) {
  const x1 = Math.fround(lo), x2 = Math.fround(hi);
  const y1 = lo > 0 ? tail : 0, y2 = hi < 1 ? 1 - tail : 1;
  const kMid = Math.fround((y2 - y1) / (hi - lo));
  const kLo = lo > 0 ? Math.fround(y1 / lo) : 0, kHi = hi < 1 ? Math.fround((1 - y2) / (1 - hi)) : 0;
  const fy1 = Math.fround(y1);
  const sShaped = kLo <= kMid && kHi <= kMid; // then min(max(low, mid), high), as numpy computes it
  for (let i = 0; i < m.length; i++) {
    const a = m[i];
    let o = Math.fround(Math.fround(Math.fround(a - x1) * kMid) + fy1);
    if (sShaped) {
      if (lo > 0) o = Math.max(o, Math.fround(a * kLo));
      if (hi < 1) o = Math.min(o, Math.fround(1 - Math.fround(Math.fround(1 - a) * kHi)));
    } else {
      if (lo > 0 && a < x1) o = Math.fround(a * kLo);
      if (hi < 1 && a > x2) o = Math.fround(1 - Math.fround(Math.fround(1 - a) * kHi));
    }
    m[i] = o < 0 ? 0 : o > 1 ? 1 : o;
  }
  return m;
}

/**
 * The model's first output as an h×w matte in [0, 1], min-max stretched, then the model's value
 * curve if it has one (levels: [lo, hi, tail], the catalog's; alphacut.pipeline.postprocess).
 */
export function postprocess(raw, activation = "none", levels = null) {
  const out = new Float32Array(raw.length);
  let lo = 1, hi = 0;
  for (let i = 0; i < raw.length; i++) {
    let v = activation === "sigmoid" ? 1 / (1 + Math.exp(-raw[i])) : raw[i];
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    out[i] = v;
    if (out[i] < lo) lo = out[i];
    if (out[i] > hi) hi = out[i];
  }
  // min-max stretched to span [0, 1], as alphacut.pipeline.postprocess (float32 steps like numpy's)
  if (hi - lo > 1e-6) {
    const k = Math.fround(1 / (hi - lo));
    for (let i = 0; i < out.length; i++) {
      const v = Math.fround(Math.fround(out[i] - lo) * k);
      out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return levels ? applyLevels(out, levels) : out;
}


/** Float triangle-filter weights, Pillow's windows: bilinear when enlarging, area-like when shrinking. */
function floatCoeffs(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filterscale;
  const first = new Int32Array(outSize), count = new Int32Array(outSize);
  const ksize = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(outSize * ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) / filterscale);
      weights[o * ksize + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) weights[o * ksize + x] /= ww;
    first[o] = xmin;
    count[o] = xmax;
  }
  return { first, count, weights, ksize };
}

/** Resize an h×w float matte to outW×outH like alphacut.ops.resize.resize_matte (clipped to [0, 1]). */
export function resizeMatte(matte, w, h, outW, outH) {
  if (w === outW && h === outH) return matte;
  const r = floatCoeffs(h, outH), c = floatCoeffs(w, outW);
  const rows = new Float64Array(outH * w);
  for (let y = 0; y < outH; y++) {
    for (let k = 0; k < r.count[y]; k++) {
      const wt = r.weights[y * r.ksize + k], src = (r.first[y] + k) * w;
      for (let x = 0; x < w; x++) rows[y * w + x] += matte[src + x] * wt;
    }
  }
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const base = y * w;
    for (let x = 0; x < outW; x++) {
      let v = 0;
      for (let k = 0; k < c.count[x]; k++) v += rows[base + c.first[x] + k] * c.weights[x * c.ksize + k];
      out[y * outW + x] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}
