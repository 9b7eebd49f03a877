// The touch-up editor's brushes as pure functions on typed arrays (no DOM: Node runs them in
// bench/edge_brush.py). A stroke is a coverage mask (0..255) built from round dabs; on release it is
// applied to the cutout's RGBA: erase lowers alpha, restore raises it and brings back the photo's own
// pixels. The edge-aware mode replaces the stroke's flat target (0 or 1) by a per-pixel one predicted
// from the photo's colours: a guided filter (He et al., 2013) whose local linear colour models are
// fitted, with weights, to the matte around the stroke (trusted) and to the stroke's target inside it,
// so a rough stroke over a wrong region follows the photo's edges instead of painting over them.
import { boxFilter } from "./planes.js";

/**
 * Stamp a round dab into `mask` (max of coverages), coverage 255 inside radius·(1 - softness) and
 * falling smoothly to 0 at the radius. Returns the touched box [x0, y0, x1, y1) or null.
 */
export function stampDab(mask, w, h, cx, cy, radius, softness) {
  const x0 = Math.max(0, Math.floor(cx - radius)), x1 = Math.min(w, Math.ceil(cx + radius) + 1);
  const y0 = Math.max(0, Math.floor(cy - radius)), y1 = Math.min(h, Math.ceil(cy + radius) + 1);
  if (x0 >= x1 || y0 >= y1) return null;
  const hard = radius * (1 - softness);
  const band = Math.max(0.5, radius - hard);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      if (d >= radius + 0.5) continue;
      let c = d <= hard ? 1 : Math.max(0, 1 - (d - hard) / band);
      c = c * c * (3 - 2 * c); // smoothstep
      const v = Math.round(c * 255);
      const i = y * w + x;
      if (v > mask[i]) mask[i] = v;
    }
  }
  return [x0, y0, x1, y1];
}

/** Stamp dabs every radius/4 along the segment from (ax, ay) to (bx, by); returns the touched box. */
export function stampSegment(mask, w, h, ax, ay, bx, by, radius, softness) {
  const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / Math.max(0.5, radius / 4)));
  let box = null;
  for (let k = 0; k <= steps; k++) {
    const t = k / steps;
    box = unionBox(box, stampDab(mask, w, h, ax + (bx - ax) * t, ay + (by - ay) * t, radius, softness));
  }
  return box;
}

export function unionBox(a, b) {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

/** The box grown by m px on each side, clipped to w×h. */
export function growBox(box, m, w, h) {
  return [Math.max(0, box[0] - m), Math.max(0, box[1] - m), Math.min(w, box[2] + m), Math.min(h, box[3] + m)];
}

/**
 * Per-pixel target alpha (0..1) inside `box` for an edge-aware stroke: a weighted guided filter with
 * the photo as a colour guide. Weights: 1 - coverage outside/at the rim (value: the current alpha),
 * lambda·coverage inside (value: the stroke's target). Returns Float32Array of the box's size.
 *   base: RGBA of the cutout before the stroke; photo: RGBA of the photo in the same frame.
 */
export function edgeAwareTarget(base, photo, mask, w, box, target, radius, { eps = 1e-2, lambda = 0.02 } = {}) {
  const [x0, y0, x1, y1] = box;
  const bw = x1 - x0, bh = y1 - y0, n = bw * bh;
  const r = Math.max(2, Math.round(radius));
  const I = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const Wt = new Float32Array(n), P = new Float32Array(n);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const i = y * bw + x, j = (y + y0) * w + x + x0, q = j * 4;
      for (let c = 0; c < 3; c++) I[c][i] = photo[q + c] / 255;
      const m = mask[j] / 255;
      const wIn = lambda * m, wOut = 1 - m;
      Wt[i] = wIn + wOut;
      P[i] = (wIn * target + wOut * (base[q + 3] / 255)) / Math.max(1e-6, wIn + wOut);
    }
  }
  const tmp = new Float32Array(n);
  const wmean = (f) => { // box(W·f) / box(W)
    for (let i = 0; i < n; i++) tmp[i] = Wt[i] * f(i);
    return boxFilter(tmp, bw, bh, r);
  };
  const mW = boxFilter(Wt, bw, bh, r);
  const norm = (arr) => { for (let i = 0; i < n; i++) arr[i] /= Math.max(1e-6, mW[i]); return arr; };
  const mu = I.map((c) => norm(wmean((i) => c[i])));
  const mp = norm(wmean((i) => P[i]));
  const cov = I.map((c, k) => { const e = norm(wmean((i) => c[i] * P[i])); for (let i = 0; i < n; i++) e[i] -= mu[k][i] * mp[i]; return e; });
  const pairs = [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]];
  const S = pairs.map(([a, b]) => {
    const e = norm(wmean((i) => I[a][i] * I[b][i]));
    for (let i = 0; i < n; i++) e[i] -= mu[a][i] * mu[b][i] - (a === b ? eps : 0);
    return e;
  });
  const A = [new Float32Array(n), new Float32Array(n), new Float32Array(n)], B = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const srr = S[0][i], srg = S[1][i], srb = S[2][i], sgg = S[3][i], sgb = S[4][i], sbb = S[5][i];
    const irr = sgg * sbb - sgb * sgb, irg = sgb * srb - srg * sbb, irb = srg * sgb - sgg * srb;
    const igg = srr * sbb - srb * srb, igb = srb * srg - srr * sgb, ibb = srr * sgg - srg * srg;
    const det = srr * irr + srg * irg + srb * irb;
    const inv = 1 / Math.max(det, 1e-12);
    const c0 = cov[0][i], c1 = cov[1][i], c2 = cov[2][i];
    const a0 = (c0 * irr + c1 * irg + c2 * irb) * inv;
    const a1 = (c0 * irg + c1 * igg + c2 * igb) * inv;
    const a2 = (c0 * irb + c1 * igb + c2 * ibb) * inv;
    A[0][i] = a0; A[1][i] = a1; A[2][i] = a2;
    B[i] = mp[i] - a0 * mu[0][i] - a1 * mu[1][i] - a2 * mu[2][i];
  }
  const Am = A.map((a) => boxFilter(a, bw, bh, r)), Bm = boxFilter(B, bw, bh, r);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const q = Am[0][i] * I[0][i] + Am[1][i] * I[1][i] + Am[2][i] * I[2][i] + Bm[i];
    out[i] = q < 0 ? 0 : q > 1 ? 1 : q;
  }
  return out;
}

/**
 * Apply a stroke to `rgba` (in place) inside `box`, from `base` (the RGBA before the stroke):
 * erase moves alpha toward the target (never up), restore toward it (never down) and blends in the
 * photo's colours. targets: Float32Array of the box (edge-aware) or null for the flat target.
 */
export function applyStroke(rgba, base, photo, mask, w, box, erase, targets = null) {
  const [x0, y0, x1, y1] = box;
  const bw = x1 - x0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const j = y * w + x, q = j * 4, m = mask[j] / 255;
      if (m === 0) {
        for (let c = 0; c < 4; c++) rgba[q + c] = base[q + c];
        continue;
      }
      const a = base[q + 3] / 255;
      const t = targets ? targets[(y - y0) * bw + x - x0] : erase ? 0 : 1;
      if (erase) {
        const na = a + m * (Math.min(a, t) - a);
        for (let c = 0; c < 3; c++) rgba[q + c] = base[q + c];
        rgba[q + 3] = Math.round(na * 255);
      } else {
        const fa = photo[q + 3] / 255; // no photo outside its frame: nothing to restore there
        const gain = m * Math.max(0, Math.max(a, t * fa) - a);
        const na = a + gain;
        for (let c = 0; c < 3; c++) rgba[q + c] = na > 0 ? Math.round((a * base[q + c] + gain * photo[q + c]) / na) : 0;
        rgba[q + 3] = Math.round(na * 255);
      }
    }
  }
}

/** A copy of the box's RGBA (for undo/redo). */
export function copyBox(rgba, w, box) {
  const [x0, y0, x1, y1] = box;
  const out = new Uint8ClampedArray((x1 - x0) * (y1 - y0) * 4);
  for (let y = y0; y < y1; y++) out.set(rgba.subarray((y * w + x0) * 4, (y * w + x1) * 4), (y - y0) * (x1 - x0) * 4);
  return out;
}

/** Write a copyBox result back. */
export function pasteBox(rgba, w, box, data) {
  const [x0, y0, x1, y1] = box;
  for (let y = y0; y < y1; y++) rgba.set(data.subarray((y - y0) * (x1 - x0) * 4, (y - y0 + 1) * (x1 - x0) * 4), (y * w + x0) * 4);
}
