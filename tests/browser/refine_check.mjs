// Runs web/src/refine.js on raw arrays written by tests/browser/test_refine.py and writes the results
// back as raw files. Input: JSON on stdin
//   {op: "refine"|"guided"|"decontaminate", dir, W, H, lw?, lh?, stride?}
// reading dir/photo.u8 (H×W×stride), dir/low.f32 (lh×lw) or dir/alpha.f32 (H×W);
// writing dir/out.f32 (the matte) or dir/out.u8 (the decontaminated pixels). Prints a JSON note.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decontaminate, guidedUpsample, refineMatte } from "../../web/src/refine.js";

const job = JSON.parse(readFileSync(0, "utf8"));
const read = (name) => readFileSync(join(job.dir, name));
const f32 = (name) => { const b = read(name); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const pix = new Uint8Array(read("photo.u8"));
const stride = job.stride || 3;
const note = {};
const t0 = performance.now();
if (job.op === "refine" || job.op === "guided") {
  const low = f32("low.f32");
  const res = job.op === "refine" ? refineMatte(low, job.lw, job.lh, pix, stride, job.W, job.H)
    : { matte: guidedUpsample(low, job.lw, job.lh, pix, stride, job.W, job.H), guided: true };
  note.guided = res.guided;
  writeFileSync(join(job.dir, "out.f32"), new Uint8Array(res.matte.buffer));
} else if (job.op === "decontaminate") {
  const out = new Uint8Array(pix);
  note.written = decontaminate(pix, stride, job.W, job.H, f32("alpha.f32"), out, stride);
  writeFileSync(join(job.dir, "out.u8"), out);
} else {
  throw new Error(`unknown op ${job.op}`);
}
note.ms = performance.now() - t0;
process.stdout.write(JSON.stringify(note));
