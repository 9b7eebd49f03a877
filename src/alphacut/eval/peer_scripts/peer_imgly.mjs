// Run @imgly/background-removal-node (the peer) on a folder of images and write its alpha mattes,
// for same-weights comparisons with alphacut. Install it first with bench/setup_peers.sh, then:
//
//   node bench/peer_imgly.mjs --model PATH --images DIR --out DIR [--json timings.json] [--limit N]
//
// imgly loads its own bundled copy of the weights from its dist/ folder ("medium" = ISNet with fp16
// weights). --model names our copy: the script assembles imgly's copy from its chunks and refuses to
// run unless both files have the same sha256. For each image it writes <out>/<stem>.png, the 8-bit
// alpha matte at the input's size. Images are decoded to RGBA with sharp first (imgly misreads
// greyscale inputs otherwise), then given to removeBackground() as raw RGBA; the alpha is taken from
// its raw RGBA output. The JSON gets per-image seconds (one removeBackground call on the decoded
// image, after a warm-up call), the first call's time (model load + session creation + one image),
// per_image_file_s (file in -> matte file written, what alphacut bench compares), batch_s (the loop over
// all files after the warm-up), the total wall time and the peak RSS. Options: --env DIR (default
// bench/.envs/imgly), --no-warmup (cold-start runs: process start to first matte written).
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { readFileSync, readdirSync, mkdirSync, writeFileSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

// The folder of the path this script was called by (bench/ through its symlink in a checkout), so the
// default --env is bench/.envs/imgly there; `alphacut bench` always passes --env.
const here = path.dirname(path.resolve(process.argv[1] ?? fileURLToPath(import.meta.url)));
const SUFFIXES = new Set([".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"]);
const MODEL_KEY = "/models/medium";

function fail(message) {
  console.error(`peer_imgly: error: ${message}`);
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    images: { type: "string" },
    out: { type: "string" },
    json: { type: "string" },
    limit: { type: "string" },
    "no-warmup": { type: "boolean", default: false },
    env: { type: "string", default: path.join(here, ".envs", "imgly") },
  },
});
for (const key of ["model", "images", "out"]) if (!args[key]) fail(`--${key} is required`);
if (!existsSync(args.model) || !statSync(args.model).isFile()) fail(`--model ${args.model} is not a file`);
if (!existsSync(args.images) || !statSync(args.images).isDirectory()) fail(`--images ${args.images} is not a folder`);

// Resolve the peer from its throwaway environment, not from this script's folder.
const envDir = path.resolve(args.env);
const requireFromEnv = createRequire(path.join(envDir, "package.json"));
let entry;
try {
  entry = requireFromEnv.resolve("@imgly/background-removal-node");
} catch {
  fail(`@imgly/background-removal-node is not installed in ${envDir}; run bench/setup_peers.sh imgly`);
}
const pkgDir = path.resolve(path.dirname(entry), "..");
const distDir = path.join(pkgDir, "dist");
const pkgVersion = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
const wallStart = performance.now();
const imgly = await import(pathToFileURL(path.join(distDir, "index.mjs")).href);
const sharp = (await import(pathToFileURL(requireFromEnv.resolve("sharp")).href)).default;
const ndarray = requireFromEnv("ndarray");

function sha256(buffer) {
  return createHash("sha256").update(buffer).digest("hex");
}

// The model imgly will load: its chunks from dist/, in order, as its resources.json lists them.
const resources = JSON.parse(readFileSync(path.join(distDir, "resources.json"), "utf8"));
const entryInfo = resources[MODEL_KEY];
if (!entryInfo) fail(`${MODEL_KEY} is not in ${distDir}/resources.json`);
const theirs = Buffer.concat(entryInfo.chunks.map((c) => readFileSync(path.join(distDir, c.hash))));
const theirSha = sha256(theirs);
const ourSha = sha256(readFileSync(args.model));
if (theirSha !== ourSha) {
  fail(`imgly's ${MODEL_KEY} (sha256 ${theirSha}) is not the file given with --model (sha256 ${ourSha})`);
}

const config = {
  publicPath: pathToFileURL(distDir).href + "/",
  model: "medium",
  output: { format: "image/x-rgba8" },
};

async function decodeRgba(file) {
  const { data, info } = await sharp(file).toColourspace("srgb").ensureAlpha().raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`${file}: decoded to ${info.channels} channels, expected 4`);
  return { width: info.width, height: info.height, data };
}

async function matte(image) {
  // removeBackground writes the alpha into the tensor it is given, so give it a copy.
  const tensor = ndarray(new Uint8Array(image.data), [image.height, image.width, 4]);
  const blob = await imgly.removeBackground(tensor, config);
  const rgba = new Uint8Array(await blob.arrayBuffer());
  if (rgba.length !== image.width * image.height * 4) throw new Error("unexpected output size");
  const alpha = Buffer.alloc(image.width * image.height);
  for (let i = 0; i < alpha.length; i += 1) alpha[i] = rgba[4 * i + 3];
  return alpha;
}

let files = readdirSync(args.images).filter((f) => SUFFIXES.has(path.extname(f).toLowerCase())).sort();
if (args.limit) files = files.slice(0, Number(args.limit));
if (files.length === 0) fail(`no images in ${args.images}`);
mkdirSync(args.out, { recursive: true });

let start = performance.now();
let firstCall = null;
if (!args["no-warmup"]) {
  await matte(await decodeRgba(path.join(args.images, files[0])));
  firstCall = (performance.now() - start) / 1000;
}

const perImage = {};
const perImageFile = {};
const batchStart = performance.now();
for (const file of files) {
  const fileStart = performance.now();
  const image = await decodeRgba(path.join(args.images, file));
  start = performance.now();
  const alpha = await matte(image);
  const stem = path.basename(file, path.extname(file));
  perImage[stem] = (performance.now() - start) / 1000;
  await sharp(alpha, { raw: { width: image.width, height: image.height, channels: 1 } })
    .toColourspace("b-w").png().toFile(path.join(args.out, `${stem}.png`));
  perImageFile[stem] = (performance.now() - fileStart) / 1000;
}
const batchS = (performance.now() - batchStart) / 1000;
const wall = (performance.now() - wallStart) / 1000;

const times = Object.values(perImage).sort((a, b) => a - b);
const median = times.length % 2 ? times[(times.length - 1) / 2]
  : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
const ortVersion = JSON.parse(readFileSync(requireFromEnv.resolve("onnxruntime-node/package.json"), "utf8")).version;
const report = {
  peer: "@imgly/background-removal-node",
  version: pkgVersion,
  onnxruntime_node: ortVersion,
  node: process.version,
  model: path.resolve(args.model),
  model_sha256: ourSha,
  model_key: MODEL_KEY,
  images: files.length,
  first_call_s: firstCall,
  per_image_s: perImage,
  per_image_file_s: perImageFile,
  batch_s: batchS,
  median_s: median,
  mean_s: times.reduce((a, b) => a + b, 0) / times.length,
  wall_s: wall,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
};
if (args.json) {
  mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
  writeFileSync(args.json, JSON.stringify(report, null, 2) + "\n");
}
console.error(`imgly ${pkgVersion}: ${files.length} images, median ${median.toFixed(3)} s/image, ` +
  `first call ${firstCall === null ? "-" : firstCall.toFixed(2)} s, wall ${wall.toFixed(1)} s, peak RSS ${report.peak_rss_mb.toFixed(0)} MB`);
