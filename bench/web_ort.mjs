// session.run of the model in headless chromium with onnxruntime-web (the page's runtime, WASM SIMD,
// threads, cross-origin isolated), per model file and setting, interleaved: which variant the page should
// run. Nothing of the page but its runtime: a random 1×3×S×S input, a fresh worker per setting (the
// thread count is fixed once per worker), session creation, one warm-up run, then --runs timed runs.
//
//   node bench/web_ort.mjs --model int8s=~/.cache/alphacut/models/isnet-general-use-int8-static.onnx \
//       --model fp32=/tmp/isnet-fp32.onnx [--threads 2,1] [--graphopt all,basic] [--runs 2] [--rounds 1]
//
// Needs the page built (make web: src/alphacut/web/vendor/ort) and /usr/bin/chromium. Prints one JSON
// line per measurement and a table of medians.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({ options: { model: { type: "string", multiple: true },
  threads: { type: "string", default: "2" }, graphopt: { type: "string", default: "all" },
  runs: { type: "string", default: "2" }, rounds: { type: "string", default: "1" },
  size: { type: "string", default: "1024" } } });
const webDir = fileURLToPath(new URL("../web/", import.meta.url));
const ortDir = fileURLToPath(new URL("../src/alphacut/web/vendor/ort/", import.meta.url));
const require = createRequire(webDir + "package.json");
const { chromium } = require("playwright-core");
const models = Object.fromEntries((args.model || []).map((m) => {
  const [name, path] = m.split("=");
  return [name, path.replace(/^~/, process.env.HOME)];
}));
if (!Object.keys(models).length) throw new Error("give at least one --model name=path");

const WORKER = `import * as ort from "/vendor/ort/ort.wasm.min.mjs";
self.onmessage = async ({ data: { url, threads, graphopt, runs, size } }) => {
  try {
    ort.env.wasm.wasmPaths = "/vendor/ort/";
    ort.env.wasm.numThreads = threads;
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"],
      graphOptimizationLevel: graphopt, extra: { session: { intra_op: { allow_spinning: "0" } } } });
    const createMs = performance.now() - t0;
    const x = new Float32Array(3 * size * size);
    for (let i = 0; i < x.length; i++) x[i] = Math.random() * 4 - 2;
    const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", x, [1, 3, size, size]) };
    const times = [];
    for (let i = 0; i <= runs; i++) {
      const t = performance.now();
      const out = await session.run(feeds);
      times.push(performance.now() - t);
      for (const o of Object.values(out)) o.dispose?.();
    }
    await session.release();
    self.postMessage({ createMs, warmupMs: times[0], runMs: times.slice(1) });
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
  else if (url === "/worker.js") { body = WORKER; type = "text/javascript"; }
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

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run"] });
const rows = [];
try {
  const page = await browser.newPage();
  await page.goto(base);
  if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error("the bench page is not cross-origin isolated");
  const settings = [];
  for (const name of Object.keys(models)) {
    for (const threads of args.threads.split(",").map(Number)) {
      for (const graphopt of args.graphopt.split(",")) settings.push({ name, threads, graphopt });
    }
  }
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const s of settings) {
      const r = await page.evaluate((job) => new Promise((resolve) => {
        const w = new Worker("/worker.js", { type: "module" });
        w.onmessage = ({ data }) => { w.terminate(); resolve(data); };
        w.onerror = (e) => { w.terminate(); resolve({ error: e.message }); };
        w.postMessage(job);
      }), { url: `/model/${s.name}`, threads: s.threads, graphopt: s.graphopt, runs: Number(args.runs),
        size: Number(args.size) });
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
console.log(`\n| model | threads | graph optimization | session.run ms (median of ${args.runs}×${args.rounds}) | warm-up run ms | session creation ms |`);
console.log("|---|---|---|---|---|---|");
const seen = new Set();
for (const r of rows) {
  const key = `${r.name}|${r.threads}|${r.graphopt}`;
  if (seen.has(key)) continue;
  seen.add(key);
  const same = rows.filter((x) => `${x.name}|${x.threads}|${x.graphopt}` === key && !x.error);
  if (!same.length) { console.log(`| ${r.name} | ${r.threads} | ${r.graphopt} | failed: ${r.error} | | |`); continue; }
  console.log(`| ${r.name} | ${r.threads} | ${r.graphopt} | ${median(same.flatMap((x) => x.runMs)).toFixed(0)} | ` +
    `${median(same.map((x) => x.warmupMs)).toFixed(0)} | ${median(same.map((x) => x.createMs)).toFixed(0)} |`);
}
