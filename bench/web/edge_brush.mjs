// Applies one scripted brush stroke with web/src/brush.js, flat and edge-aware, for bench/web/edge_brush.py.
// Input (JSON on stdin): {dir, w, h, erase, radius, box}; reads dir/photo.u8 (H×W×4 RGBA), dir/alpha.u8
// (H×W, the model's matte) and dir/mask.u8 (H×W stroke coverage 0..255); writes dir/flat.u8 and
// dir/edge.u8 (the alpha after the stroke). Prints {ms} for the edge-aware target.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyStroke, edgeAwareTarget } from "../../web/src/brush.js";

const job = JSON.parse(readFileSync(0, "utf8"));
const read = (name) => new Uint8Array(readFileSync(join(job.dir, name)));
const photo = read("photo.u8"), alpha = read("alpha.u8"), mask = read("mask.u8");
const n = job.w * job.h;
const base = new Uint8ClampedArray(photo);
for (let i = 0; i < n; i++) base[i * 4 + 3] = alpha[i];
const alphaOf = (rgba) => { const a = new Uint8Array(n); for (let i = 0; i < n; i++) a[i] = rgba[i * 4 + 3]; return a; };
const flat = new Uint8ClampedArray(base);
applyStroke(flat, base, photo, mask, job.w, job.box, job.erase);
const t0 = performance.now();
const targets = edgeAwareTarget(base, photo, mask, job.w, job.box, job.erase ? 0 : 1, job.radius,
  { lambda: job.lambda ?? 0.02, eps: job.eps ?? 1e-2 });
const ms = performance.now() - t0;
const edge = new Uint8ClampedArray(base);
applyStroke(edge, base, photo, mask, job.w, job.box, job.erase, targets);
writeFileSync(join(job.dir, "flat.u8"), alphaOf(flat));
writeFileSync(join(job.dir, "edge.u8"), alphaOf(edge));
process.stdout.write(JSON.stringify({ ms }));
