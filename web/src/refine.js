// Edge refinement for private (in-browser) mode, ported from alphacut's Python pipeline so the page's
// cutout is the library's default cutout:
//   refineMatte    = post.refine_matte with Refine.GUIDED: the model's matte brought to the photo's
//                    size by the fast guided filter (ops/guided.py guided_upsample; He & Sun 2015,
//                    colour guide, radius one working-grid pixel, eps 1e-4) when the photo is at least
//                    GUIDED_MIN_SCALE times the matte along its shorter side, by resize_matte below;
//   decontaminate  = post.decontaminate / compose_u8: blur-fusion foreground colours (ops/foreground.py;
//                    Forte & Pitié 2021, radii 90 and 6) estimated on at most FOREGROUND_WORK_PIXELS
//                    pixels and written only where 0.002 < alpha < 0.998.
// Planes are Float32Array, and per-pixel arithmetic rounds to float32 (Math.fround) where numpy does,
// so the results follow the Python ones to about 1e-6. Box filters are running sums: O(pixels) for
// any radius. Pure functions on typed arrays, no DOM: Node tests them against the Python functions.
import { resizeMatte } from "./preprocess.js";
import { boxFilter, f32, pyRound, resizeU8, toU8, twoTaps, U8_FLOAT, u8Planes } from "./planes.js";

/** post.GUIDED_MIN_SCALE: guided upsampling only when the photo is ≥ this × the matte (shorter side). */
export const GUIDED_MIN_SCALE = 2;
/** post.FOREGROUND_WORK_PIXELS: decontamination works on at most this many pixels. */
export const FOREGROUND_WORK_PIXELS = 2_000_000;
const TINY = f32(1e-5);
const SOFT_LO = f32(0.002), SOFT_HI = f32(0.998); // numpy compares float32 with these as float32

/** box(x·y) - mx·my in float32 (a covariance term of the guided filter). */
function boxCov(x, y, mx, my, w, h, r, scratch) {
  for (let i = 0; i < x.length; i++) scratch[i] = x[i] * y[i];
  const out = boxFilter(scratch, w, h, r);
  for (let i = 0; i < out.length; i++) out[i] = out[i] - f32(mx[i] * my[i]);
  return out;
}

/**
 * Box-averaged guided-filter coefficients for a colour guide (ops/guided.py _coefficients_colour):
 * a 3×3 solve per pixel by the adjugate, the same float32 steps as numpy. Returns {a: [3 planes], b}.
 */
export function colourCoefficients(g, p, w, h, r, eps) {
  const n = w * h;
  const scratch = new Float32Array(n);
  const mi = g.map((c) => boxFilter(c, w, h, r));
  const mp = boxFilter(p, w, h, r);
  const cip = g.map((c, k) => boxCov(c, p, mi[k], mp, w, h, r, scratch));
  const vrr = boxCov(g[0], g[0], mi[0], mi[0], w, h, r, scratch);
  const vrg = boxCov(g[0], g[1], mi[0], mi[1], w, h, r, scratch);
  const vrb = boxCov(g[0], g[2], mi[0], mi[2], w, h, r, scratch);
  const vgg = boxCov(g[1], g[1], mi[1], mi[1], w, h, r, scratch);
  const vgb = boxCov(g[1], g[2], mi[1], mi[2], w, h, r, scratch);
  const vbb = boxCov(g[2], g[2], mi[2], mi[2], w, h, r, scratch);
  const e = f32(eps), e3 = f32(e * e * e);
  const a0 = new Float32Array(n), a1 = new Float32Array(n), a2 = new Float32Array(n), b = scratch;
  for (let i = 0; i < n; i++) {
    const srr = f32(Math.max(vrr[i], 0) + e), srg = vrg[i], srb = vrb[i];
    const sgg = f32(Math.max(vgg[i], 0) + e), sgb = vgb[i], sbb = f32(Math.max(vbb[i], 0) + e);
    const irr = f32(f32(sgg * sbb) - f32(sgb * sgb));
    const irg = f32(f32(sgb * srb) - f32(srg * sbb));
    const irb = f32(f32(srg * sgb) - f32(sgg * srb));
    const igg = f32(f32(srr * sbb) - f32(srb * srb));
    const igb = f32(f32(srb * srg) - f32(srr * sgb));
    const ibb = f32(f32(srr * sgg) - f32(srg * srg));
    const det = f32(f32(f32(srr * irr) + f32(srg * irg)) + f32(srb * irb));
    const invDet = f32(1 / Math.max(det, e3));
    const c0 = cip[0][i], c1 = cip[1][i], c2 = cip[2][i];
    const x0 = f32(f32(f32(f32(c0 * irr) + f32(c1 * irg)) + f32(c2 * irb)) * invDet);
    const x1 = f32(f32(f32(f32(c0 * irg) + f32(c1 * igg)) + f32(c2 * igb)) * invDet);
    const x2 = f32(f32(f32(f32(c0 * irb) + f32(c1 * igb)) + f32(c2 * ibb)) * invDet);
    a0[i] = x0;
    a1[i] = x1;
    a2[i] = x2;
    b[i] = f32(f32(mp[i] - f32(x0 * mi[0][i])) - f32(x1 * mi[1][i])) - f32(x2 * mi[2][i]);
  }
  return { a: [a0, a1, a2].map((ak) => boxFilter(ak, w, h, r)), b: boxFilter(b, w, h, r) };
}

/** q = a·I + b clipped to [0, 1] (ops/guided.py _apply), numpy's order of float32 additions. */
function applyPixel(b, a0, a1, a2, r, g, bl) {
  const q = f32(f32(f32(b + f32(a0 * r)) + f32(a1 * g)) + f32(a2 * bl));
  return q < 0 ? 0 : q > 1 ? 1 : q;
}

/**
 * The matte brought to the guide's size by the fast guided filter (ops/guided.py guided_upsample):
 * the matte and the guide resized to a grid of the guide's size / subsample, the coefficients solved
 * and box-averaged there, upsampled bilinearly and applied to the full-resolution guide.
 *
 * @param low h×w matte (Float32Array) in [0, 1]; @param pix W×H 8-bit guide, stride 3 (RGB) or 4 (RGBA).
 * @returns W×H Float32Array in [0, 1].
 */
export function guidedUpsample(low, lw, lh, pix, stride, W, H, { radius = null, eps = 1e-4, subsample = null } = {}) {
  let s = subsample ?? Math.max(1, Math.floor(Math.min(H / lh, W / lw)));
  if (s < 1) throw new Error(`subsample must be >= 1, got ${s}`);
  const ww = Math.max(1, pyRound(W / s)), wh = Math.max(1, pyRound(H / s));
  const full = ww === W && wh === H;
  const g = full ? u8Planes(pix, stride, W, H) : resizeU8(pix, stride, W, H, ww, wh);
  const p = resizeMatte(low, lw, lh, ww, wh);
  const r = radius === null ? 1 : Math.max(1, pyRound(radius / s));
  const { a, b } = colourCoefficients(g, p, ww, wh, r, eps);
  const out = new Float32Array(W * H);
  if (full) {
    for (let i = 0; i < W * H; i++) out[i] = applyPixel(b[i], a[0][i], a[1][i], a[2][i], g[0][i], g[1][i], g[2][i]);
    return out;
  }
  // (a, b) are interpolated one output row at a time: no full-size coefficient planes (16 B/pixel).
  const ty = twoTaps(wh, H), tx = twoTaps(ww, W);
  const planes = [a[0], a[1], a[2], b];
  const rows = planes.map(() => new Float32Array(ww));
  for (let y = 0; y < H; y++) {
    const r0 = ty.i0[y] * ww, r1 = ty.i1[y] * ww, v0 = ty.w0[y], v1 = ty.w1[y];
    for (let k = 0; k < 4; k++) {
      const src = planes[k], row = rows[k];
      for (let x = 0; x < ww; x++) row[x] = src[r0 + x] * v0 + src[r1 + x] * v1;
    }
    const [ra0, ra1, ra2, rb] = rows;
    let p4 = y * W * stride;
    const o = y * W;
    for (let x = 0; x < W; x++, p4 += stride) {
      const j0 = tx.i0[x], j1 = tx.i1[x], u0 = tx.w0[x], u1 = tx.w1[x];
      out[o + x] = applyPixel(
        f32(rb[j0] * u0 + rb[j1] * u1), f32(ra0[j0] * u0 + ra0[j1] * u1),
        f32(ra1[j0] * u0 + ra1[j1] * u1), f32(ra2[j0] * u0 + ra2[j1] * u1),
        U8_FLOAT[pix[p4]], U8_FLOAT[pix[p4 + 1]], U8_FLOAT[pix[p4 + 2]]);
    }
  }
  return out;
}

/**
 * The model's h×w matte at the photo's W×H size, as post.refine_matte(low, photo, Refine.GUIDED):
 * guided when the photo is ≥ GUIDED_MIN_SCALE× the matte along its shorter side, bilinear otherwise.
 * Returns {matte, guided}.
 */
export function refineMatte(low, lw, lh, pix, stride, W, H) {
  const scale = Math.min(H / lh, W / lw);
  if (scale < GUIDED_MIN_SCALE) return { matte: resizeMatte(low, lw, lh, W, H), guided: false };
  return { matte: guidedUpsample(low, lw, lh, pix, stride, W, H), guided: true };
}

/**
 * Foreground colours by blur fusion (ops/foreground.py estimate_foreground; Forte & Pitié 2021).
 * @param planes three w×h Float32Array colour planes in [0, 1]; @param alpha w×h Float32Array.
 * @returns three Float32Array planes in [0, 1]. Channels are independent, so one is done at a time.
 */
export function estimateForeground(planes, alpha, w, h, radii = [90, 6]) {
  const n = w * h;
  const a = new Float32Array(n), oneMinus = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = alpha[i];
    a[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    oneMinus[i] = 1 - a[i];
  }
  const denF = radii.map(() => new Float32Array(n)), denB = radii.map(() => new Float32Array(n));
  radii.forEach((r, pass) => {
    const blurred = boxFilter(a, w, h, r);
    for (let i = 0; i < n; i++) {
      denF[pass][i] = blurred[i] + TINY;
      denB[pass][i] = f32(1 - blurred[i]) + TINY;
    }
  });
  const scratch = new Float32Array(n);
  return planes.map((img) => {
    let fg = img, bg = img;
    radii.forEach((r, pass) => {
      for (let i = 0; i < n; i++) scratch[i] = fg[i] * a[i];
      const mf = boxFilter(scratch, w, h, r);
      for (let i = 0; i < n; i++) scratch[i] = bg[i] * oneMinus[i];
      const mb = boxFilter(scratch, w, h, r);
      const df = denF[pass], db = denB[pass];
      for (let i = 0; i < n; i++) {
        const f = f32(mf[i] / df[i]), b = f32(mb[i] / db[i]), ai = a[i];
        const t = f32(f32(f32(img[i] - f32(ai * f)) - f32(oneMinus[i] * b)) * ai);
        const v = f32(f + t);
        mf[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        mb[i] = b;
      }
      fg = mf;
      bg = mb;
    });
    return fg;
  });
}

function isSoft(v) {
  return v > SOFT_LO && v < SOFT_HI;
}

/**
 * post._estimate_foreground: the foreground colours at the photo's size, or at about
 * FOREGROUND_WORK_PIXELS pixels (radii scaled to match); null when no pixel of the matte is soft.
 * Returns {planes, w, h} or null.
 */
export function foregroundEstimate(pix, stride, W, H, alpha) {
  let anySoft = false;
  for (let i = 0; i < W * H && !anySoft; i++) anySoft = isSoft(alpha[i]);
  if (!anySoft) return null;
  if (W * H <= FOREGROUND_WORK_PIXELS) {
    return { planes: estimateForeground(u8Planes(pix, stride, W, H), alpha, W, H), w: W, h: H };
  }
  const k = Math.sqrt(FOREGROUND_WORK_PIXELS / (W * H));
  const w = Math.max(8, pyRound(W * k)), h = Math.max(8, pyRound(H * k));
  const radii = [Math.max(8, pyRound(90 * k)), Math.max(2, pyRound(6 * k))];
  const planes = estimateForeground(resizeU8(pix, stride, W, H, w, h), resizeMatte(alpha, W, H, w, h), w, h, radii);
  return { planes, w, h };
}

/**
 * Colours without the old background in the matte's soft band (post.decontaminate): writes the
 * estimate (bilinearly enlarged if it was made smaller) into `out` (stride outStride) where
 * 0.002 < alpha < 0.998; every other pixel is left as it is. Returns the count of pixels written.
 */
export function decontaminate(pix, stride, W, H, alpha, out = pix, outStride = stride) {
  const est = foregroundEstimate(pix, stride, W, H, alpha);
  if (!est) return 0;
  let written = 0;
  const [e0, e1, e2] = est.planes;
  if (est.w === W && est.h === H) {
    for (let i = 0; i < W * H; i++) {
      if (!isSoft(alpha[i])) continue;
      const q = i * outStride;
      out[q] = toU8(e0[i]); out[q + 1] = toU8(e1[i]); out[q + 2] = toU8(e2[i]);
      written++;
    }
    return written;
  }
  const ty = twoTaps(est.h, H), tx = twoTaps(est.w, W);
  for (let y = 0; y < H; y++) {
    const r0 = ty.i0[y] * est.w, r1 = ty.i1[y] * est.w, v0 = ty.w0[y], v1 = ty.w1[y];
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (!isSoft(alpha[i])) continue;
      const j0 = tx.i0[x], j1 = tx.i1[x], u0 = tx.w0[x], u1 = tx.w1[x];
      const q = i * outStride;
      out[q] = toU8(bilinear(e0, r0, r1, v0, v1, j0, j1, u0, u1));
      out[q + 1] = toU8(bilinear(e1, r0, r1, v0, v1, j0, j1, u0, u1));
      out[q + 2] = toU8(bilinear(e2, r0, r1, v0, v1, j0, j1, u0, u1));
      written++;
    }
  }
  return written;
}

/** Height first, then width, as ops/resize.py resizes (float32 between the passes). */
function bilinear(p, r0, r1, v0, v1, j0, j1, u0, u1) {
  const c0 = f32(p[r0 + j0] * v0 + p[r1 + j0] * v1);
  const c1 = f32(p[r0 + j1] * v0 + p[r1 + j1] * v1);
  return f32(c0 * u0 + c1 * u1);
}

/**
 * The private mode's cutout, made as pipeline.finish makes the library's default one (a transparent
 * PNG): the matte refined to the photo's size (refineMatte) and capped by the photo's own alpha, the
 * soft band decontaminated, alpha from the matte (float_to_u8), and no colour kept under fully
 * transparent pixels (io.encode.pixels_to_pil).
 *
 * @param low lh×lw model matte (Float32Array) in [0, 1]; @param rgba W×H×4 photo pixels (not changed).
 * @returns {rgba: Uint8ClampedArray, matte: Float32Array, guided, softPixels, ms: {refine, decontaminate}}
 */
export function cutoutRGBA(low, lw, lh, rgba, W, H) {
  const t0 = performance.now();
  const { matte, guided } = refineMatte(low, lw, lh, rgba, 4, W, H);
  const n = W * H;
  let opaque = true;
  for (let i = 0; i < n && opaque; i++) opaque = rgba[i * 4 + 3] === 255;
  if (!opaque) for (let i = 0; i < n; i++) matte[i] = Math.min(matte[i], U8_FLOAT[rgba[i * 4 + 3]]);
  const t1 = performance.now();
  const out = new Uint8ClampedArray(rgba);
  const softPixels = decontaminate(rgba, 4, W, H, matte, out, 4);
  for (let i = 0, q = 0; i < n; i++, q += 4) {
    const a = toU8(matte[i]);
    out[q + 3] = a;
    if (a === 0) out[q] = out[q + 1] = out[q + 2] = 0;
  }
  return { rgba: out, matte, guided, softPixels, ms: { refine: t1 - t0, decontaminate: performance.now() - t1 } };
}
