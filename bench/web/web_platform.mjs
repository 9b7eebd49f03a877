// What headless Chromium offers private mode on this machine, per set of flags: a WebGPU adapter (as a
// worker of a secure page sees it), WebNN contexts (cpu, gpu, npu), and relaxed WebAssembly SIMD (a
// one-instruction probe module: i32x4.relaxed_dot_i8x16_i7x16_add_s). Evidence for docs/studies/web-rounds.md's
// "why 1.5x is not reachable"; light (no model is run).
//
//   node bench/web/web_platform.mjs          # needs web/node_modules (make web) and /usr/bin/chromium
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const require = createRequire(fileURLToPath(new URL("../../web/package.json", import.meta.url)));
const { chromium } = require("playwright-core");
const FLAG_SETS = [
  ["--disable-gpu"],
  [],
  ["--enable-unsafe-webgpu"],
  ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader", "--use-webgpu-adapter=swiftshader", "--use-angle=swiftshader"],
  ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-angle=vulkan"],
  ["--disable-gpu", "--enable-features=WebMachineLearningNeuralNetwork"],
  ["--enable-unsafe-webgpu", "--enable-features=WebMachineLearningNeuralNetwork"],
];
const server = createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end("<!doctype html><title>platform probe</title>");
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;  // 127.0.0.1 is a secure context: navigator.gpu exists
try {
  for (const flags of FLAG_SETS) {
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-background-networking", "--no-first-run", ...flags] });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      const r = await page.evaluate(async () => {
        const body = [0x00, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x93, 0x02, 0x0b];
        const probe = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b,
          3, 2, 1, 0, 10, body.length + 2, 1, body.length, ...body]);
        const out = { relaxedSimd: WebAssembly.validate(probe), webnn: navigator.ml ? {} : "no navigator.ml" };
        out.webgpuAdapter = await new Promise((resolve) => {
          const w = new Worker(URL.createObjectURL(new Blob([`(async () => {
            if (!navigator.gpu) return postMessage("no navigator.gpu");
            const a = await navigator.gpu.requestAdapter().catch((e) => String(e));
            postMessage(a && typeof a === "object" ? { vendor: a.info?.vendor, architecture: a.info?.architecture,
              fallback: Boolean(a.info?.isFallbackAdapter ?? a.isFallbackAdapter) } : a);
          })()`], { type: "text/javascript" })));
          w.onmessage = ({ data }) => { w.terminate(); resolve(data); };
        });
        for (const deviceType of navigator.ml ? ["cpu", "gpu", "npu"] : []) {
          try {
            await navigator.ml.createContext({ deviceType });
            out.webnn[deviceType] = "ok";
          } catch (e) {
            out.webnn[deviceType] = String(e.message || e);
          }
        }
        return out;
      });
      console.log(JSON.stringify({ flags: flags.join(" ") || "(none)", ...r }));
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
