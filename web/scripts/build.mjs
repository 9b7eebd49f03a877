// Builds the page into the Python package (src/alphacut/web) with esbuild: one hashed JS bundle, the
// hashed private-mode worker (inference and edge refinement), the image worker (full-size pictures), one hashed CSS file, and index.html pointing at them. Then
// copy-vendor.mjs adds the runtimes.
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here("../../src/alphacut/web/");
rmSync(out, { recursive: true, force: true });
mkdirSync(out + "assets", { recursive: true });

const common = { bundle: true, minify: true, target: "es2022", outdir: out + "assets", entryNames: "[name]-[hash]",
  metafile: true, legalComments: "eof", logLevel: "warning" };
// The private-mode worker first (a module worker: it imports onnxruntime-web at run time); the page
// learns its hashed name at build time.
const workerUrl = async (name) => {
  const worker = await build({ ...common, entryPoints: [here(`../src/${name}.js`)], format: "esm" });
  return "/assets/" + basename(Object.keys(worker.metafile.outputs).find((f) => f.endsWith(".js")));
};
const inferUrl = await workerUrl("infer-worker"), imageUrl = await workerUrl("image-worker"); // full-size pictures
const result = await build({
  ...common, entryPoints: [here("../src/main.js"), here("../src/style.css")], format: "esm",
  define: { INFER_WORKER_URL: JSON.stringify(inferUrl), IMAGE_WORKER_URL: JSON.stringify(imageUrl) },
});
const built = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) built[basename(meta.entryPoint)] = "/assets/" + basename(file);
}
const html = readFileSync(here("../index.html"), "utf8")
  .replace("/src/main.js", built["main.js"])
  .replace("/src/style.css", built["style.css"]);
writeFileSync(out + "index.html", html);
console.log(`built ${built["main.js"]}, ${inferUrl}, ${imageUrl} and ${built["style.css"]}`);
