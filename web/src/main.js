// The page: pick or drop images, cut them out on the local server or in this tab, compare,
// choose a background, download one or all. No framework, no third-party requests.
import { zipSync } from "fflate";
import { canvasBytes, drawComposite } from "./compose.js";
import { cutoutInWorker, decodePixels, loadSession, lowMatteInBrowser } from "./private.js";

const $ = (sel) => document.querySelector(sel);
const state = { config: null, items: [], running: 0, queue: [], bgImage: null };
window.alphacutDebug = { lastLow: null, lastMatte: null, lastCutout: null }; // read by the browser tests (parity with Python)

const ACCEPTED = ["image/jpeg", "image/png", "image/webp"];

function mode() { return document.querySelector("input[name=mode]:checked").value; }
function fmt() { return document.querySelector("input[name=fmt]:checked").value; }
function apiHeaders() {
  const key = $("#api-key").value.trim();
  return key ? { "X-Api-Key": key } : {};
}

function background() {
  const v = document.querySelector("input[name=bg]:checked").value;
  if (v === "transparent") return { kind: "none" };
  if (v === "blur") return { kind: "blur" };
  if (v === "image") return { kind: "image", image: state.bgImage };
  return { kind: "color", color: v === "color" ? $("#bg-color").value : v };
}

async function init() {
  $("#server-origin").textContent = location.host;
  let problem = null;
  try {
    const res = await fetch("/config.json");
    const body = await res.json();
    if (res.ok) state.config = body;
    else problem = body.error ? `${body.error.message} ${body.error.hint || ""}` : `HTTP ${res.status}`;
  } catch (e) {
    problem = `the server did not answer (${e.message})`;
  }
  if (problem) state.config = { api_key_required: false, private_model: null, model: "not loaded" };
  $("#model-name").textContent = `model: ${state.config.model}`;
  if (state.config.api_key_required) {
    $("#key-row").hidden = false;
    $("#api-key").value = sessionStorage.getItem("alphacut-key") || "";
    $("#api-key").addEventListener("change", () => sessionStorage.setItem("alphacut-key", $("#api-key").value));
  }
  if (navigator.gpu) $("#gpu-note").textContent = ", WebGPU when available";
  const ortPresent = (await fetch("/vendor/ort/ort.wasm.min.mjs", { method: "HEAD" })).ok;
  const privateRadio = document.querySelector("input[value=private]");
  if (!state.config.private_model || !ortPresent) {
    privateRadio.disabled = true;
    showPrivateStatus(!ortPresent
      ? "Private mode is unavailable: the in-browser runtime was not built (run `make web`)."
      : "Private mode is unavailable: the model is not in this server's cache (run `alphacut models fetch`).", true);
  }
  if (problem) showPrivateStatus(`The server can't cut out images right now: ${problem}`, true);
  privateRadio.addEventListener("change", () => {
    const mb = Math.round((state.config.private_model?.size_bytes || 0) / 1e6);
    showPrivateStatus(`The model (${mb} MB) is downloaded once from this server and cached by your browser.`);
  });
  document.querySelector("input[value=server]").addEventListener("change", () => ($("#private-status").hidden = true));
  wireInputs();
}

function showPrivateStatus(text, isError = false) {
  const el = $("#private-status");
  el.hidden = false;
  el.textContent = text;
  el.classList.toggle("err", isError);
}

function wireInputs() {
  const drop = $("#drop");
  $("#files").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
  for (const ev of ["dragenter", "dragover"]) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const ev of ["dragleave", "drop"]) drop.addEventListener(ev, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); addFiles(e.dataTransfer.files); });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("#files").click(); });
  for (const r of document.querySelectorAll("input[name=bg]")) {
    r.addEventListener("change", () => (r.value === "image" && !state.bgImage ? $("#bg-image").click() : redrawAll()));
  }
  $("#bg-color").addEventListener("input", () => { document.querySelector("input[name=bg][value=color]").checked = true; redrawAll(); });
  $("#bg-image").addEventListener("change", async (e) => {
    if (e.target.files[0]) state.bgImage = await createImageBitmap(e.target.files[0]);
    redrawAll();
  });
  $("#zip").addEventListener("click", downloadZip);
  const syncPreset = () => {
    const priv = mode() === "private";
    $("#preset").disabled = priv;
    $("#preset-note").hidden = !priv;
  };
  for (const r of document.querySelectorAll("input[name=mode]")) r.addEventListener("change", syncPreset);
  syncPreset();
}

function addFiles(list) {
  for (const file of list) {
    const item = { file, name: file.name || "image", card: makeCard(file), done: false };
    state.items.push(item);
    if (!ACCEPTED.includes(file.type)) {
      fail(item, `not a JPG, PNG or WebP (${file.type || "unknown type"})`);
      continue;
    }
    item.mode = mode();
    state.queue.push(item);
  }
  pump();
}

function makeCard(file) {
  const node = $("#card").content.firstElementChild.cloneNode(true);
  node.querySelector(".name").textContent = file.name;
  node.querySelector(".name").title = file.name;
  const slider = node.querySelector(".slider");
  slider.addEventListener("input", () => node.querySelector(".compare").style.setProperty("--pos", `${slider.value}%`));
  $("#results").append(node);
  return node;
}

function setStatus(item, text, percent) {
  item.card.querySelector(".status").textContent = text;
  const bar = item.card.querySelector("progress");
  if (percent === null) bar.removeAttribute("value");
  else if (percent !== undefined) bar.value = percent;
}

function fail(item, message) {
  item.card.classList.add("failed");
  setStatus(item, `failed: ${message}`, 0);
}

function pump() {
  const limit = state.queue[0]?.mode === "private" ? 1 : 2;
  while (state.running < limit && state.queue.length) {
    const item = state.queue.shift();
    state.running++;
    process(item).catch((e) => fail(item, e.message || String(e))).finally(() => { state.running--; pump(); });
  }
}

async function process(item) {
  item.original = await createImageBitmap(item.file);
  item.card.querySelector(".before img").src = URL.createObjectURL(item.file);
  item.cutout = item.mode === "private" ? await cutOutHere(item) : await cutOutOnServer(item);
  item.done = true;
  item.card.classList.add("done");
  item.card.querySelector(".compare").hidden = false;
  item.card.querySelector(".dl").disabled = false;
  item.card.querySelector(".dl").addEventListener("click", () => downloadOne(item));
  redraw(item);
  setStatus(item, `done · ${item.cutout.width}×${item.cutout.height} · ${item.mode === "private" ? "in browser" : "server"}`, 100);
  $("#zip").disabled = false;
}

function cutOutOnServer(item, attempt = 0) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    form.append("file", item.file, item.name);
    const preset = $("#preset").value;
    xhr.open("POST", "/v1/remove?format=png" + (preset ? `&preset=${encodeURIComponent(preset)}` : ""));
    for (const [k, v] of Object.entries(apiHeaders())) xhr.setRequestHeader(k, v);
    xhr.responseType = "blob";
    xhr.upload.onprogress = (e) => e.lengthComputable && setStatus(item, "uploading to this computer", (e.loaded / e.total) * 40);
    xhr.upload.onload = () => setStatus(item, "cutting out…", null);
    xhr.onerror = () => reject(new Error("the server did not answer"));
    xhr.onload = async () => {
      const retryAfter = xhr.getResponseHeader("Retry-After");
      if (xhr.status === 503 && retryAfter && attempt < 5) { // busy, not broken: wait as told
        const wait = Math.min(30, Number(retryAfter) || 3);
        setStatus(item, `server busy, retrying in ${wait} s`, null);
        setTimeout(() => cutOutOnServer(item, attempt + 1).then(resolve, reject), wait * 1000);
        return;
      }
      if (xhr.status !== 200) {
        let message = `HTTP ${xhr.status}`;
        try { message = JSON.parse(await xhr.response.text()).error.message; } catch { /* keep the status */ }
        reject(new Error(message));
        return;
      }
      resolve(await createImageBitmap(xhr.response));
    };
    xhr.send(form);
  });
}

async function cutOutHere(item) {
  const model = state.config.private_model;
  const session = await loadSession(model, apiHeaders(), (stage, f) => {
    const text = stage === "model" ? `downloading model ${Math.round(f * 100)}%` : "preparing the model…";
    setStatus(item, text, stage === "model" ? f * 50 : null);
  });
  setStatus(item, "cutting out in this browser…", null);
  const pixels = await decodePixels(item.file);
  const { width, height } = pixels;
  const t0 = performance.now();
  const low = await lowMatteInBrowser(session, pixels);
  const t1 = performance.now();
  window.alphacutDebug.lastLow = { width: low.lw, height: low.lh, matte: low.low.slice() };
  setStatus(item, "refining the edges…", null);
  const cut = await cutoutInWorker(low, pixels);
  window.alphacutDebug.lastMatte = { name: item.name, width, height, matte: cut.matte, webgpu: session.gpu,
    ms: performance.now() - t0, inferenceMs: t1 - t0, refineMs: cut.ms.refine, decontaminateMs: cut.ms.decontaminate,
    guided: cut.guided, softPixels: cut.softPixels };
  window.alphacutDebug.lastCutout = cut.image;
  return createImageBitmap(cut.image);
}

function redraw(item) {
  drawComposite(item.card.querySelector(".after canvas"), item.cutout, item.original, background());
}

function redrawAll() {
  for (const item of state.items) if (item.done) redraw(item);
}

function outName(item) {
  return `${item.name.replace(/\.[^.]+$/, "")}.cutout.${fmt()}`;
}

async function encode(item) {
  const canvas = document.createElement("canvas");
  drawComposite(canvas, item.cutout, item.original, background());
  return canvasBytes(canvas, fmt());
}

function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function downloadOne(item) {
  save(await encode(item), outName(item));
}

async function downloadZip() {
  const files = {};
  for (const item of state.items.filter((i) => i.done)) {
    let name = outName(item);
    for (let n = 2; name in files; n++) name = outName(item).replace(/(\.[^.]+)$/, `-${n}$1`);
    files[name] = [new Uint8Array(await (await encode(item)).arrayBuffer()), { level: 0 }];
  }
  save(new Blob([zipSync(files)], { type: "application/zip" }), "alphacut-cutouts.zip");
}

init();
