// The page: pick or drop images, cut them out on the local server or in this tab, compare, touch up,
// choose a background, download one or all. No framework, no third-party requests.
// Each card keeps the settings it was dropped with (preset, background, format); changing a setting
// applies it to the selected cards: a background or format change is redrawn here, a preset change
// asks the server again.
// Full-size pixel work (decoding results, previews, framing, encoding, ZIP) runs in workers
// (image-worker.js, infer-worker.js): the cards show previews at card size, so the main thread only
// draws small bitmaps and stays responsive while a batch runs (tests/browser/test_private_worker.py).
import { drawComposite } from "./compose.js";
import { openEditor } from "./editor.js";
import { imageTask } from "./image-client.js";
import { cutPrivately } from "./private-client.js";

const $ = (sel) => document.querySelector(sel);
const state = { config: null, items: [], running: 0, queue: [], bgImage: null, runtime: null };
// read by the browser tests (parity with Python, responsiveness)
window.alphacutDebug = { lastLow: null, lastMatte: null, lastCutoutKey: null, items: state.items,
  cutout: (key) => imageTask("cutout", { key }) }; // a copy of a card's full-size cutout, from the image worker

const ACCEPTED = ["image/jpeg", "image/png", "image/webp"];
const PRESET_BG = { ecommerce: "#ffffff", "id-photo": "#ffffff", "id-photo-us": "#ffffff" };

function mode() { return document.querySelector("input[name=mode]:checked").value; }
function apiHeaders() {
  const key = $("#api-key").value.trim();
  return key ? { "X-Api-Key": key } : {};
}

/** The controls' current values: what a dropped file gets. */
function currentSettings() {
  const v = document.querySelector("input[name=bg]:checked").value;
  let bg;
  if (v === "transparent") bg = { kind: "none", label: "transparent" };
  else if (v === "blur") bg = { kind: "blur", label: "blurred photo" };
  else if (v === "image") bg = { kind: "image", image: state.bgImage, label: "image" };
  else {
    const color = v === "color" ? $("#bg-color").value : v;
    bg = { kind: "color", color, label: { "#ffffff": "white", "#000000": "black" }[color] || color };
  }
  return { preset: mode() === "private" ? "" : $("#preset").value, bg,
    fmt: document.querySelector("input[name=fmt]:checked").value, best: $("#best").checked };
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
  if (state.config.api_key_required) askForKey();
  $("#gpu-note").textContent = navigator.gpu ? ", or WebGPU if this browser offers a GPU adapter" : "";
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
    const threads = self.crossOriginIsolated ? "several threads" : "one thread (the page is not cross-origin isolated)";
    showPrivateStatus(`The model (${mb} MB) is downloaded once from this server and cached by your browser. ` +
      `It runs in a background worker with WebGPU if available, else WebAssembly on ${threads}.`);
  });
  document.querySelector("input[value=server]").addEventListener("change", () => ($("#private-status").hidden = true));
  wireInputs();
}

/** With `serve --api-key`, the key is asked for before anything can be dropped. */
function askForKey() {
  const row = $("#key-row"), input = $("#api-key");
  row.hidden = false;
  input.value = sessionStorage.getItem("alphacut-key") || "";
  const sync = () => {
    const missing = !input.value.trim();
    $("#drop").classList.toggle("locked", missing);
    $("#files").disabled = missing;
    $("#key-needed").hidden = !missing;
    sessionStorage.setItem("alphacut-key", input.value);
  };
  input.addEventListener("input", sync);
  sync();
  if (!input.value) input.focus();
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
    r.addEventListener("change", () => (r.value === "image" && !state.bgImage ? $("#bg-image").click() : applyToSelected("bg")));
  }
  $("#bg-color").addEventListener("input", () => {
    document.querySelector("input[name=bg][value=color]").checked = true;
    applyToSelected("bg");
  });
  $("#bg-image").addEventListener("change", async (e) => {
    if (e.target.files[0]) state.bgImage = await createImageBitmap(e.target.files[0]);
    applyToSelected("bg");
  });
  for (const r of document.querySelectorAll("input[name=fmt]")) r.addEventListener("change", () => applyToSelected("fmt"));
  $("#best").addEventListener("change", () => applyToSelected("best"));
  $("#preset").addEventListener("change", () => {
    const bg = PRESET_BG[$("#preset").value];
    if (bg) document.querySelector(`input[name=bg][value="${bg}"]`).checked = true; // the preset's own background
    applyToSelected("preset");
  });
  $("#select-all").addEventListener("change", (e) => {
    for (const item of state.items) item.card.querySelector(".pick").checked = e.target.checked;
    syncSelection();
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

function selectedItems() {
  return state.items.filter((i) => i.card.querySelector(".pick").checked);
}

function syncSelection() {
  const n = selectedItems().length;
  $("#apply-note").textContent = n ? `Changes apply to the ${n} selected card${n > 1 ? "s" : ""}.`
    : "Changes apply to the next images you drop; tick cards to change them too.";
}

/** A control changed: give the selected cards the new value; redraw, or cut out again for a preset (server
 * mode) or the quality (either mode). */
function applyToSelected(what) {
  const now = currentSettings();
  for (const item of selectedItems()) {
    if (what === "best") {
      if (item.settings.best === now.best) continue;
      item.settings = { ...item.settings, best: now.best };
      showSettings(item);
      requeue(item);
      continue;
    }
    if (item.status === "failed" && what !== "preset") continue;
    if (what === "preset") {
      if (item.mode !== "server" || item.settings.preset === now.preset) continue;
      item.settings = { ...item.settings, preset: now.preset, bg: now.bg };
      showSettings(item);
      requeue(item);
      continue;
    }
    item.settings = { ...item.settings, [what]: now[what] };
    showSettings(item);
    if (item.status === "done") redraw(item);
  }
}

function addFiles(list) {
  if (state.config?.api_key_required && !$("#api-key").value.trim()) {
    $("#api-key").focus();
    return;
  }
  for (const file of list) {
    const item = { id: state.items.length, file, name: file.name || "image", settings: currentSettings(),
      mode: mode(), status: "queued" };
    item.card = makeCard(item);
    state.items.push(item);
    if (!ACCEPTED.includes(file.type)) {
      fail(item, `not a JPG, PNG or WebP (${file.type || "unknown type"})`);
      continue;
    }
    state.queue.push(item);
  }
  pump();
}

function makeCard(item) {
  const node = $("#card").content.firstElementChild.cloneNode(true);
  node.querySelector(".name").textContent = item.name;
  node.querySelector(".name").title = item.name;
  const slider = node.querySelector(".slider");
  slider.addEventListener("input", () => node.querySelector(".compare").style.setProperty("--pos", `${slider.value}%`));
  node.querySelector(".pick").addEventListener("change", syncSelection);
  node.querySelector(".dl").addEventListener("click", () => downloadOne(item));
  node.querySelector(".edit").addEventListener("click", () => edit(item));
  $("#results").append(node);
  item.card = node;
  showSettings(item);
  return node;
}

function showSettings(item) {
  const { preset, bg, fmt, best } = item.settings;
  item.card.querySelector(".settings").textContent = `${preset || "no preset"} · ${bg.label} · ${fmt.toUpperCase()}` +
    `${best ? " · best quality" : ""}${item.edited ? " · touched up" : ""}`;
}

function setStatus(item, text, percent) {
  item.card.querySelector(".status").textContent = text;
  const bar = item.card.querySelector("progress");
  if (percent === null) bar.removeAttribute("value");
  else if (percent !== undefined) bar.value = percent;
}

function fail(item, message) {
  item.status = "failed";
  item.card.classList.remove("done");
  item.card.classList.add("failed");
  item.card.querySelector(".dl").disabled = true;
  item.card.querySelector(".edit").disabled = true;
  setStatus(item, `failed: ${message}`, 0);
}

function requeue(item) {
  if (item.status === "queued" || item.status === "running") {
    item.again = true; // its current run finishes first, then it runs again with the new settings
    return;
  }
  item.status = "queued";
  item.card.classList.remove("done", "failed");
  item.card.querySelector(".dl").disabled = true;
  item.card.querySelector(".edit").disabled = true;
  setStatus(item, "waiting", 0);
  state.queue.push(item);
  pump();
}

function pump() {
  // private mode: one card at a time (its inference keeps both cores of a small machine busy); the
  // bench knob ?overlap=1 (bench/web_speed.py --query) runs two, so that one is refined (image worker)
  // while the next one's inference runs (infer worker): no clear gain measured here (docs/WEB.md).
  // Server mode: two uploads at once.
  const overlap = new URLSearchParams(location.search).get("overlap") === "1";
  const limit = state.queue[0]?.mode === "private" && !overlap ? 1 : 2;
  while (state.running < limit && state.queue.length) {
    const item = state.queue.shift();
    state.running++;
    item.status = "running";
    process(item).catch((e) => fail(item, e.message || String(e))).finally(() => {
      state.running--;
      if (item.again) {
        item.again = false;
        item.status = "idle";
        requeue(item);
      }
      pump();
    });
  }
}

async function process(item) {
  item.original ||= await createImageBitmap(item.file, { imageOrientation: "from-image" }); // decoded off-thread
  const t0 = performance.now();
  const settings = item.settings;
  // {width, height, frame, cutPreview, beforePreview}: the cutout's size, how the original maps onto it,
  // and the card's two previews (ImageBitmaps at card size), all made in a worker; the full-size cutout
  // itself stays in the image worker under the card's key (item.id)
  const result = item.mode === "private" ? await cutOutHere(item) : await cutOutOnServer(item, settings);
  item.cut = { width: result.width, height: result.height };
  item.frame = result.frame;
  item.preview?.cut.close();
  item.preview?.before.close();
  item.preview = { cut: result.cutPreview, before: result.beforePreview };
  item.edited = false;
  item.ms = performance.now() - t0;
  item.status = "done";
  item.card.classList.add("done");
  item.card.querySelector(".compare").hidden = false;
  item.card.querySelector(".dl").disabled = false;
  item.card.querySelector(".edit").disabled = false;
  const before = item.card.querySelector(".before canvas");
  before.width = item.preview.before.width;
  before.height = item.preview.before.height;
  before.getContext("2d").drawImage(item.preview.before, 0, 0);
  item.card.querySelector(".before").title = item.frame.note;
  showSettings(item);
  redraw(item);
  const where = item.mode === "private" ? `in browser, ${state.runtime?.backend || "wasm"}` : "server";
  const runs = settings.best ? " · best (2 runs)" : "";
  setStatus(item, `done · ${result.width}×${result.height} · ${where}${runs} · ${(item.ms / 1000).toFixed(1)} s`, 100);
  $("#zip").disabled = false;
}

/** Server mode: the cutout (transparent: the page draws the background), and for a preset also the
 * photo-framed matte, from which the image worker frames the original like the output (framing.js). */
async function cutOutOnServer(item, settings) {
  // quality=best: the server runs the model on the photo and on its mirror image (--quality best)
  const quality = settings.best ? "&quality=best" : "";
  const query = settings.preset ? `preset=${encodeURIComponent(settings.preset)}&bg=%2300000000` : "";
  const cutBlob = await postImage(item, `format=png${quality}${query ? "&" + query : ""}`, 0, 70);
  let matteBlob = null;
  if (settings.preset) {
    setStatus(item, "matching the original to the preset's framing…", null);
    matteBlob = await postImage(item, `format=mask${quality}`, 70, 100);
  }
  return imageTask("server", { key: item.id, cutBlob, matteBlob, file: item.file });
}

function postImage(item, query, from, to, attempt = 0) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    form.append("file", item.file, item.name);
    xhr.open("POST", `/v1/remove?${query}`);
    for (const [k, v] of Object.entries(apiHeaders())) xhr.setRequestHeader(k, v);
    xhr.responseType = "blob";
    xhr.upload.onprogress = (e) => e.lengthComputable &&
      setStatus(item, "uploading to this computer", from + ((e.loaded / e.total) * (to - from)) / 3);
    xhr.upload.onload = () => setStatus(item, "cutting out…", null);
    xhr.onerror = () => reject(new Error("the server did not answer"));
    xhr.onload = async () => {
      const retryAfter = xhr.getResponseHeader("Retry-After");
      if (xhr.status === 503 && retryAfter && attempt < 5) { // busy, not broken: wait as told
        const wait = Math.min(30, Number(retryAfter) || 3);
        setStatus(item, `server busy, retrying in ${wait} s`, null);
        setTimeout(() => postImage(item, query, from, to, attempt + 1).then(resolve, reject), wait * 1000);
        return;
      }
      if (xhr.status !== 200) {
        let message = `HTTP ${xhr.status}`;
        try { message = JSON.parse(await xhr.response.text()).error.message; } catch { /* keep the status */ }
        reject(new Error(message));
        return;
      }
      resolve(xhr.response);
    };
    xhr.send(form);
  });
}

const STAGES = { decode: "reading the image", infer: "cutting out in this browser", refine: "refining the edges" };

/** Private mode: decoding and inference run in the infer worker, refinement and previews in the image
 * worker; the card's bar moves with the stages (the inference share is estimated from the previous
 * image's inference time). */
async function cutOutHere(item) {
  let ticker = null;
  const stop = () => clearInterval(ticker);
  try {
    const r = await cutPrivately(item.file, state.config.private_model, apiHeaders(), {
      best: Boolean(item.settings.best),
      onReady: (info) => {
        state.runtime = info;
        const gpu = info.adapter ? ` (${info.adapter.name || "adapter"}${info.adapter.fallback ? ", a software adapter" : ""})` : "";
        const how = info.backend === "webgpu" ? `WebGPU${gpu}` : `WebAssembly, ${info.threads} thread${info.threads > 1 ? "s" : ""}`;
        showPrivateStatus(`Private mode runs on ${how}${info.isolated ? "" : " (not cross-origin isolated)"}, ` +
          "in a background worker: the image never leaves this tab.");
        $("#runtime").textContent = ` · private: ${how}`;
      },
      onProgress: ({ stage, fraction, expectMs }) => {
        stop();
        if (stage === "model") return setStatus(item, `downloading model ${Math.round(fraction * 100)}%`, fraction * 30);
        if (stage === "compile") return setStatus(item, "preparing the model…", 30);
        if (stage === "infer") {
          const t0 = performance.now();
          setStatus(item, STAGES.infer + (item.settings.best ? " (best: the model runs twice)" : ""), 35);
          if (expectMs) {
            ticker = setInterval(() => {
              const f = Math.min(0.97, (performance.now() - t0) / expectMs);
              setStatus(item, `${STAGES.infer}${item.settings.best ? ", best" : ""} (~${Math.max(0, Math.round((expectMs - (performance.now() - t0)) / 1000))} s left)`,
                35 + 55 * f);
            }, 250);
          }
          return undefined;
        }
        return setStatus(item, STAGES[stage] || stage, stage === "refine" ? 90 : 32);
      },
    });
    stop();
    setStatus(item, STAGES.refine, 90);
    const low = r.low.slice(); // the model's matte, kept for the tests (the original moves on)
    // the photo's pixels, bitmap and the model's matte move on to the image worker (transferred: no copy
    // on this thread), which refines the cutout, keeps it and draws the card's previews
    const c = await imageTask("refine", { key: item.id, low: r.low, lw: r.lw, lh: r.lh, rgba: r.rgba, width: r.width,
      height: r.height, bitmap: r.bitmap }, [r.low.buffer, r.rgba.buffer, r.bitmap]);
    const ms = { ...r.ms, ...c.ms };
    ms.total = ms.inference + ms.refine + ms.decontaminate + ms.previews;
    window.alphacutDebug.lastLow = { width: r.lw, height: r.lh, matte: low, runs: r.runs };
    window.alphacutDebug.lastMatte = { name: item.name, width: r.width, height: r.height, matte: c.matte,
      webgpu: r.backend === "webgpu", runs: r.runs, ms: ms.total, inferenceMs: ms.inference, refineMs: ms.refine,
      decontaminateMs: ms.decontaminate, stagesMs: ms, guided: c.guided, softPixels: c.softPixels };
    (window.alphacutDebug.stages ||= []).push({ name: item.name, width: r.width, height: r.height, ...ms });
    window.alphacutDebug.lastCutoutKey = item.id;
    return { width: r.width, height: r.height, frame: c.frame, cutPreview: c.cutPreview, beforePreview: c.beforePreview };
  } finally {
    stop();
  }
}

/** The card's "after": its cutout preview over its background, at card size. */
function redraw(item) {
  drawComposite(item.card.querySelector(".after canvas"), item.preview.cut, item.preview.before, item.settings.bg);
}

/** The editor changed the cutout: the card, its download and the ZIP use the edited one. */
async function edited(item, rgba) {
  item.edited = true;
  showSettings(item);
  const old = item.preview.cut;
  // the edited cutout replaces the card's in the image worker (transferred), which draws its preview
  item.preview.cut = await imageTask("store", { key: item.id, rgba, width: item.cut.width, height: item.cut.height,
    preview: true }, [rgba.buffer]);
  old.close();
  redraw(item);
}

/** The editor works on a copy of the full-size cutout and the original in the output's frame, both
 * made in the image worker. */
async function edit(item) {
  if (item.status !== "done") return;
  const [cut, photo] = await Promise.all([imageTask("cutout", { key: item.id }),
    imageTask("frame", { file: item.file, frame: item.frame })]);
  openEditor({ name: item.name, cut, photo, bg: item.settings.bg, onDone: (rgba) => edited(item, rgba) });
}

function outName(item) {
  const stem = item.name.replace(/\.[^.]+$/, "");
  return `${stem}.${item.settings.preset || "cutout"}.${item.settings.fmt}`;
}

/** The download: the full-size cutout over the card's background, composed and encoded in the image worker. */
function encode(item) {
  return imageTask("export", { key: item.id, file: item.file, frame: item.frame, bg: item.settings.bg,
    fmt: item.settings.fmt });
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
  if (item.status !== "done") return;
  save(await encode(item), outName(item));
}

async function downloadZip() {
  const files = {};
  for (const item of state.items.filter((i) => i.status === "done")) {
    let name = outName(item);
    for (let n = 2; name in files; n++) name = outName(item).replace(/(\.[^.]+)$/, `-${n}$1`);
    files[name] = await encode(item);
  }
  save(await imageTask("zip", { files }), "alphacut-cutouts.zip");
}

init();
