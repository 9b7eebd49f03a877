// Reads JSON {w, h, outW, outH, rgb: base64, matte?: base64 float32, mw, mh} from stdin and prints
// the JS pipeline's results (base64) so pytest can compare them with Pillow / alphacut.ops.
import { contentSize, cropOutput, mirrorMean, modelInput, postprocess, resizeRGB, resizeMatte } from "../../web/src/preprocess.js";

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  const rgb = new Uint8Array(Buffer.from(job.rgb, "base64"));
  const out = { rgb: Buffer.from(resizeRGB(rgb, job.w, job.h, job.outW, job.outH)).toString("base64"),
                content: contentSize(job.w, job.h, job.outW, job.outH) };
  if (job.modelInput) {  // the whole model input, as the page makes it (modelInput), mirrored if asked
    const x = modelInput(rgb, job.w, job.h, job.mw, job.mh, [0.5, 0.5, 0.5], [1, 1, 1], Boolean(job.mirrored)).input;
    out.input = Buffer.from(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).toString("base64");
  }
  if (job.output) {  // model output(s) 1×1×mh×mw → the matte, as private.js does: crop, flip back, average, postprocess
    const f32 = (b64) => new Float32Array(new Uint8Array(Buffer.from(b64, "base64")).buffer);
    const [cw, ch] = contentSize(job.w, job.h, job.mw, job.mh);
    let part = cropOutput(f32(job.output), job.mw, cw, ch, Boolean(job.mirrored));
    if (job.mirrorOutput) part = mirrorMean(part, cropOutput(f32(job.mirrorOutput), job.mw, cw, ch, true));
    const m = postprocess(part, "none", job.levels ?? null);
    out.outputMatte = Buffer.from(new Uint8Array(m.buffer)).toString("base64");
  }
  if (job.raw) {  // the model's output → matte (alphacut.pipeline.postprocess)
    const r = new Float32Array(new Uint8Array(Buffer.from(job.raw, "base64")).buffer);
    const m = postprocess(r, "none", job.levels ?? null);
    out.low = Buffer.from(new Uint8Array(m.buffer)).toString("base64");
  }
  if (job.matte) {
    const m = new Float32Array(new Uint8Array(Buffer.from(job.matte, "base64")).buffer);
    const up = resizeMatte(m, job.mw, job.mh, job.w, job.h);
    out.matte = Buffer.from(new Uint8Array(up.buffer)).toString("base64");
  }
  process.stdout.write(JSON.stringify(out));
});
