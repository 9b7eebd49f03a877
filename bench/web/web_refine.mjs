// Times the page's private-mode edge refinement (web/src/refine.js) in headless chromium, the browser
// the browser tests use, on a synthetic photo: guided upsampling of a model-sized matte and blur-fusion
// decontamination (refineMatte, decontaminate on RGBA pixels, as cutoutRGBA runs them), then the whole
// cutout in a worker (as the page's infer-worker.js runs cutoutRGBA after the model) while a 10 ms timer on the main thread records its
// longest gap: how long the tab stops answering while a photo is refined.
//
//   node bench/web/web_refine.mjs [--mp 12] [--reps 3] [--json out.json]
//
// Needs web/node_modules (make web) and /usr/bin/chromium. The photo is 4:3 with --mp megapixels,
// the matte 1024 px along its longer side (as the model gives it); the median of --reps runs is kept.
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({ options: { mp: { type: "string", default: "12" },
  reps: { type: "string", default: "3" }, json: { type: "string" } } });
const webDir = fileURLToPath(new URL("../../web/", import.meta.url));
const require = createRequire(webDir + "package.json");
const { build } = require("esbuild");
const { chromium } = require("playwright-core");

const iife = async (entry, globalName) => (await build({ entryPoints: [webDir + entry], bundle: true, write: false,
  format: "iife", globalName, target: "es2022", logLevel: "warning" })).outputFiles[0].text;
const bundle = await iife("src/refine.js", "refine");
// the refinement half of the page's private-mode worker (infer-worker.js), without the model
const workerCode = (await build({ stdin: { resolveDir: webDir, contents: `import { cutoutRGBA } from "./src/refine.js";
self.onmessage = ({ data }) => {
  const { id, low, lw, lh, rgba, width, height } = data;
  const result = cutoutRGBA(low, lw, lh, rgba, width, height);
  self.postMessage({ id, ...result }, [result.rgba.buffer, result.matte.buffer]);
};` }, bundle: true, write: false, format: "iife", target: "es2022", logLevel: "warning" })).outputFiles[0].text;
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run"] });
try {
  const page = await browser.newPage();
  await page.setContent("<!doctype html><title>refine bench</title>");
  await page.addScriptTag({ content: bundle });
  const result = await page.evaluate(async ({ mp, reps, workerCode }) => {
    const { refineMatte, decontaminate } = window.refine;
    const W = Math.round(Math.sqrt(mp * 1e6 * 4 / 3)), H = Math.round(W * 3 / 4);
    const lw = 1024, lh = Math.round(1024 * H / W);
    // a disc with a wavy soft edge: warm textured subject over a cool checkered background
    const rgba = new Uint8ClampedArray(W * H * 4);
    const cx = W / 2, cy = H * 0.55, r = Math.min(W, H) * 0.33, soft = Math.min(W, H) / 60;
    const alphaAt = (x, y) => {
      const d = Math.hypot(x - cx, y - cy) - r * (1 + 0.08 * Math.sin(7 * Math.atan2(y - cy, x - cx)));
      return Math.min(1, Math.max(0, 0.5 - d / soft));
    };
    for (let y = 0, p = 0; y < H; y++) {
      for (let x = 0; x < W; x++, p += 4) {
        const a = alphaAt(x, y), chk = ((x >> 5) + (y >> 5)) & 1;
        rgba[p] = 255 * (a * (0.85 - 0.3 * y / H) + (1 - a) * (0.15 + 0.15 * chk));
        rgba[p + 1] = 255 * (a * (0.45 + 0.2 * x / W) + (1 - a) * (0.35 + 0.15 * chk));
        rgba[p + 2] = 255 * (a * (0.25 + 0.1 * Math.sin(x / 9)) + (1 - a) * 0.75);
        rgba[p + 3] = 255;
      }
    }
    const low = new Float32Array(lw * lh);
    for (let y = 0; y < lh; y++) for (let x = 0; x < lw; x++) low[y * lw + x] = alphaAt((x + 0.5) * W / lw, (y + 0.5) * H / lh);
    const times = { guided: [], decontaminate: [] };
    let guided = false, written = 0;
    for (let i = 0; i < reps; i++) {
      let t = performance.now();
      const res = refineMatte(low, lw, lh, rgba, 4, W, H);
      times.guided.push(performance.now() - t);
      guided = res.guided;
      const out = new Uint8ClampedArray(rgba);
      t = performance.now();
      written = decontaminate(rgba, 4, W, H, res.matte, out, 4);
      times.decontaminate.push(performance.now() - t);
    }
    // the page's way: the whole cutout in the worker, the main thread free
    const worker = new Worker(URL.createObjectURL(new Blob([workerCode], { type: "text/javascript" })));
    let last = performance.now(), longestGap = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 10);
    const t = performance.now();
    const reply = await new Promise((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      const job = { id: 0, low: low.slice(), lw, lh, rgba: rgba.slice(), width: W, height: H };
      worker.postMessage(job, [job.low.buffer, job.rgba.buffer]); // handed over, as the page does
    });
    const workerMs = performance.now() - t;
    clearInterval(tick);
    worker.terminate();
    const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const mpx = W * H / 1e6;
    return { width: W, height: H, megapixels: mpx, matte: [lw, lh], guided, soft_pixels: written, runs_ms: times,
      guided_ms: median(times.guided), decontaminate_ms: median(times.decontaminate),
      guided_ms_per_mp: median(times.guided) / mpx, decontaminate_ms_per_mp: median(times.decontaminate) / mpx,
      worker: { error: reply.error || null, total_ms: workerMs, refine_ms: reply.ms?.refine,
        decontaminate_ms: reply.ms?.decontaminate, main_thread_longest_gap_ms: longestGap },
      user_agent: navigator.userAgent };
  }, { mp: Number(args.mp), reps: Number(args.reps), workerCode });
  const text = JSON.stringify(result, null, 2);
  if (args.json) writeFileSync(args.json, text + "\n");
  process.stdout.write(text + "\n");
} finally {
  await browser.close();
}
