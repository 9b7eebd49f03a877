// Copies the runtime files the page loads at run time (not bundled) next to the built page:
// onnxruntime-web's WASM builds and swagger-ui for /docs. Everything is served locally; no CDN.
import { copyFileSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const out = fileURLToPath(new URL("../../src/alphacut/web/vendor/", import.meta.url));
const mod = (p) => fileURLToPath(new URL(`../node_modules/${p}`, import.meta.url));

const ort = [
  "ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",        // CPU (WASM SIMD, threads)
  "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm", // WebGPU
];
mkdirSync(out + "ort", { recursive: true });
for (const f of ort) copyFileSync(mod(`onnxruntime-web/dist/${f}`), out + "ort/" + f);
const pkg = JSON.parse(readFileSync(mod("onnxruntime-web/package.json"), "utf8"));
const version = pkg.version;
writeFileSync(out + "ort/VERSION", `onnxruntime-web ${version}, licence ${pkg.license} (Microsoft)\n`);

mkdirSync(out + "swagger", { recursive: true });
for (const f of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) {
  copyFileSync(mod(`swagger-ui-dist/${f}`), out + "swagger/" + f);
}
// validatorUrl null: swagger-ui would otherwise send the schema to an online validator
writeFileSync(out + "swagger/docs-init.js",
  'window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null, ' +
  'deepLinking: true, tryItOutEnabled: true });\n');
console.log(`vendored onnxruntime-web ${version} and swagger-ui into ${out}`);

// The page itself (index.html, assets/) is committed so `pip install` works without Node; the
// vendored runtimes (about 43 MB) are rebuilt by `make web` from the lockfile instead.
writeFileSync(out + "../.gitignore", "vendor/\n");
