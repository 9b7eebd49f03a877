// session.run of the model in headless chromium with onnxruntime-web (the page's runtime, WASM SIMD,
// threads, cross-origin isolated; or its WebGPU build), per model file and setting, interleaved: which
// variant the page should run. Nothing of the page but its runtime: a seeded random 1×3×S×S input (the
// same for every setting), a fresh worker per setting (the thread count is fixed once per worker), session
// creation, one warm-up run, then --runs timed runs. Each setting's first output is compared with the
// first setting's (max and mean |difference|), so a faster setting that changes the matte shows it.
//
//   node bench/web/web_ort.mjs --model int8s=~/.cache/alphacut/models/isnet-general-use-int8-static.onnx \
//       --model fp32=/tmp/isnet-fp32.onnx [--threads 2,1] [--graphopt all,basic] [--runs 2] [--rounds 1]
//       [--ep wasm,webgpu] [--layout NCHW,NHWC] [--fixdims 0,1]
//
// --ep webgpu starts chromium with WebGPU on (--enable-unsafe-webgpu, no --disable-gpu): on a machine
// without a GPU its adapter is SwiftShader, Chromium's software Vulkan on the CPU. --layout is the WebGPU
// execution provider's preferredLayout (the WASM one has no such option). --fixdims 1 gives the session
// freeDimensionOverrides for the input's symbolic dimensions (--dims, default height,width) = --size, so that
// onnxruntime can fold the graph's shape arithmetic (Shape/Slice/Resize sizes) at load time. Needs the page built (make web:
// src/alphacut/web/vendor/ort) and /usr/bin/chromium. Prints one JSON line per measurement and a table of medians.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({ options: { model: { type: "string", multiple: true },
  threads: { type: "string", default: "2" }, graphopt: { type: "string", default: "all" },
  runs: { type: "string", default: "2" }, rounds: { type: "string", default: "1" },
  size: { type: "string", default: "1024" }, ep: { type: "string", default: "wasm" },
  layout: { type: "string", default: "NCHW" }, fixdims: { type: "string", default: "0" },
  dims: { type: "string", default: "height,width" } } });
const webDir = fileURLToPath(new URL("../../web/", import.meta.url));
const ortDir = fileURLToPath(new URL("../../src/alphacut/web/vendor/ort/", import.meta.url));
const require = createRequire(webDir + "package.json");
const { chromium } = require("playwright-core");
const models = Object.fromEntries((args.model || []).map((m) => {
  const [name, path] = m.split("=");
  return [name, path.replace(/^~/, process.env.HOME)];
}));
if (!Object.keys(models).length) throw new Error("give at least one --model name=path");

// one worker per execution provider's build: the plain WASM build, or the WebGPU one (which also has the CPU kernels)
const WORKER = (build) => `import * as ort from "/vendor/ort/${build}";
self.onmessage = async ({ data: { url, ep, layout, threads, graphopt, runs, size, fixdims, dims } }) => {
  try {
    ort.env.wasm.wasmPaths = "/vendor/ort/";
    ort.env.wasm.numThreads = threads;
    let adapter = null;
    if (ep === "webgpu") {
      const a = await navigator.gpu?.requestAdapter();
      if (!a) throw new Error("no WebGPU adapter");
      adapter = { vendor: a.info?.vendor, architecture: a.info?.architecture, fallback: a.info?.isFallbackAdapter ?? a.isFallbackAdapter };
    }
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    console.log(ep + ": " + bytes.length + " model bytes, creating the session");
    const t0 = performance.now();
    const provider = ep === "webgpu" ? { name: "webgpu", preferredLayout: layout } : "wasm";
    const freeDimensionOverrides = fixdims ? Object.fromEntries(dims.map((d) => [d, size])) : undefined;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], freeDimensionOverrides,
      graphOptimizationLevel: graphopt, extra: { session: { intra_op: { allow_spinning: "0" } } } });
    const createMs = performance.now() - t0;
    const x = new Float32Array(3 * size * size);
    let seed = 12345;  // a fixed LCG: the same input in every worker, so outputs can be compared
    for (let i = 0; i < x.length; i++) { seed = (seed * 1664525 + 1013904223) >>> 0; x[i] = (seed / 2 ** 32) * 4 - 2; }
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", x, [1, 3, size, size]) };
    const times = [];
    let output = null;
    for (let i = 0; i <= runs; i++) {
      const t = performance.now();
      const out = await session.run(feeds);
      const first = out[session.outputNames[0]];
      if (!output) output = new Float32Array(first.data);  // a CPU tensor after run, on either provider
      times.push(performance.now() - t);
      console.log(ep + " run " + i + (i ? "" : " (warm-up)") + ": " + times[i].toFixed(0) + " ms");
      for (const o of Object.values(out)) o.dispose?.();
    }
    await session.release();
    self.postMessage({ createMs, warmupMs: times[0], runMs: times.slice(1), output, adapter }, [output.buffer]);
  } catch (e) {
    self.postMessage({ error: String(e) });
  }
};`;

const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin" };
const server = createServer((req, res) => {
  const url = decodeURIComponent(req.url.split("?")[0]);
  let body = null, type = "application/octet-stream";
  if (url === "/") { body = "<!doctype html><title>ort bench</title>"; type = "text/html"; }
  else if (url === "/worker-wasm.js") { body = WORKER("ort.wasm.min.mjs"); type = "text/javascript"; }
  else if (url === "/worker-webgpu.js") { body = WORKER("ort.webgpu.min.mjs"); type = "text/javascript"; }
  else if (url.startsWith("/vendor/ort/")) {
    const f = ortDir + url.slice("/vendor/ort/".length).replace(/[^\w.-]/g, "");
    try { statSync(f); body = readFileSync(f); } catch { body = null; }
    type = f.endsWith(".wasm") ? "application/wasm" : f.endsWith("js") ? "text/javascript" : type;
  } else if (url.startsWith("/model/") && models[url.slice(7)]) body = readFileSync(models[url.slice(7)]);
  res.writeHead(body ? 200 : 404, { ...headers, "Content-Type": type });
  res.end(body || "not found");
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}/`;

const eps = args.ep.split(",");
const gpuFlags = eps.includes("webgpu") ? ["--enable-unsafe-webgpu"] : ["--disable-gpu"];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", ...gpuFlags, "--disable-background-networking",
    "--disable-component-update", "--no-first-run"] });
const rows = [];
try {
  const page = await browser.newPage();
  page.on("crash", () => console.error("the bench page crashed"));
  page.on("console", (m) => console.error(`page: ${m.text()}`));
  await page.goto(base);
  if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error("the bench page is not cross-origin isolated");
  const settings = [];
  for (const name of Object.keys(models)) {
    for (const ep of eps) {
      for (const layout of ep === "webgpu" ? args.layout.split(",") : ["-"]) {
        for (const threads of args.threads.split(",").map(Number)) {
          for (const graphopt of args.graphopt.split(",")) {
            for (const fixdims of args.fixdims.split(",").map(Number)) settings.push({ name, ep, layout, threads, graphopt, fixdims });
          }
        }
      }
    }
  }
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const s of settings) {
      const r = await page.evaluate((job) => new Promise((resolve) => {
        const w = new Worker(`/worker-${job.ep}.js`, { type: "module" });
        w.onmessage = ({ data }) => {
          w.terminate();
          const { output, ...rest } = data;
          if (output) {
            // the first setting's output is the reference for the others (same seeded input)
            const ref = (self.referenceOutput ||= output);
            let max = 0, sum = 0;
            for (let i = 0; i < output.length; i++) { const d = Math.abs(output[i] - ref[i]); sum += d; if (d > max) max = d; }
            Object.assign(rest, { diffMax: max, diffMean: sum / output.length });
          }
          resolve(rest);
        };
        w.onerror = (e) => { w.terminate(); resolve({ error: e.message }); };
        w.postMessage(job);
      }), { url: `/model/${s.name}`, ep: s.ep, layout: s.layout, threads: s.threads, graphopt: s.graphopt,
        fixdims: s.fixdims, dims: args.dims.split(","), runs: Number(args.runs), size: Number(args.size) });
      const row = { ...s, round, ...r };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
} finally {
  await browser.close();
  server.close();
}
const median = (xs) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2; };
const ref = rows[0] ? `${rows[0].name} ${rows[0].ep}` : "";
console.log(`\n| model | provider | layout | threads | graph optimization | fixed dims | session.run ms (median of ${args.runs}×${args.rounds}) | warm-up run ms | session creation ms | output max / mean abs diff vs ${ref} |`);
console.log("|---|---|---|---|---|---|---|---|---|---|");
const keyOf = (r) => `${r.name}|${r.ep}|${r.layout}|${r.threads}|${r.graphopt}|${r.fixdims}`;
const seen = new Set();
for (const r of rows) {
  const key = keyOf(r);
  if (seen.has(key)) continue;
  seen.add(key);
  const head = `| ${r.name} | ${r.ep} | ${r.layout} | ${r.threads} | ${r.graphopt} | ${r.fixdims ? "yes" : "no"} |`;
  const same = rows.filter((x) => keyOf(x) === key && !x.error);
  if (!same.length) { console.log(`${head} failed: ${r.error} | | | |`); continue; }
  console.log(`${head} ${median(same.flatMap((x) => x.runMs)).toFixed(0)} | ` +
    `${median(same.map((x) => x.warmupMs)).toFixed(0)} | ${median(same.map((x) => x.createMs)).toFixed(0)} | ` +
    `${Math.max(...same.map((x) => x.diffMax)).toExponential(1)} / ${Math.max(...same.map((x) => x.diffMean)).toExponential(1)} |`);
}
