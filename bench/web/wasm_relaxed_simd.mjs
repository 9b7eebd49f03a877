// Does onnxruntime-web's WebAssembly use relaxed SIMD (the instruction set whose
// i32x4.relaxed_dot_i8x16_i7x16_add_s V8 lowers to VNNI's vpdpbusd on this CPU)? Node 20's V8 rejects
// relaxed-SIMD instructions unless started with --experimental-wasm-relaxed-simd, so: a one-instruction
// probe module must fail to validate without the flag (the check works), and each vendored .wasm that still
// compiles without it has no relaxed-SIMD instruction, i.e. its int8 kernels are plain SIMD128.
//
//   node bench/web/wasm_relaxed_simd.mjs                      # needs `make web` (src/alphacut/web/vendor/ort)
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ortDir = fileURLToPath(new URL("../../src/alphacut/web/vendor/ort/", import.meta.url));
// (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 i32x4.relaxed_dot_i8x16_i7x16_add_s)
const body = [0x00, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x93, 0x02, 0x0b];
const probe = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b,
  3, 2, 1, 0, 10, body.length + 2, 1, body.length, ...body]);
const probeValid = WebAssembly.validate(probe);
console.log(`node ${process.version}: the relaxed-SIMD probe validates: ${probeValid}` +
  (probeValid ? " (this node accepts relaxed SIMD: the check below proves nothing; use node 20 without flags)" : ""));
for (const f of readdirSync(ortDir).filter((n) => n.endsWith(".wasm"))) {
  try {
    await WebAssembly.compile(readFileSync(ortDir + f));
    console.log(`${f}: compiles without relaxed SIMD -> no relaxed-SIMD instruction`);
  } catch (e) {
    console.log(`${f}: does not compile here: ${e.message}`);
  }
}
