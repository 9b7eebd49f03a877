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
import { imageSize, pixelLimitMessage } from "./header.js";
import { cutPrivately, forgetModel, modelIsKept, warmUp } from "./private-client.js";

const $ = (sel) => document.querySelector(sel);
// userBg: the background the user picked last (a radio's value); a preset with a background of its own
// shows that one instead, one without (or "None") brings the user's back (PRESET_BG)
const state = { config: null, items: [], running: 0, queue: [], bgImage: null, runtime: null, userBg: "transparent" };
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
    modelIsKept(state.config.private_model).then((kept) => {
      if (state.runtime) return; // already loaded: its own note stays
      showPrivateStatus(`The model (${mb} MB) ${kept ? "is kept in this browser (checked before each use)"
        : "is downloaded once from this server and kept in this browser"}. ` +
        `It runs in a background worker with WebGPU if available, else WebAssembly on ${threads}. ` +
        "Each image shows a quick provisional preview first, then the full-quality result.");
    });
    syncForget();
    warm();
  });
  document.querySelector("input[value=server]").addEventListener("change", () => {
    $("#private-status").hidden = true;
    syncForget();
  });
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

function syncForget() {
  $("#forget-model").hidden = mode() !== "private";
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
    if (r.value === "image") {
      // "Image…" always opens the chooser (again, for another picture); the radio is checked only once a
      // picture was chosen, so a cancelled chooser leaves the previous background as it was
      r.addEventListener("click", (e) => {
        e.preventDefault();
        $("#bg-image").value = "";
        $("#bg-image").click();
      });
      continue;
    }
    r.addEventListener("change", () => { state.userBg = r.value; applyToCards("bg"); });
  }
  $("#bg-color").addEventListener("input", () => {
    document.querySelector("input[name=bg][value=color]").checked = true;
    state.userBg = "color";
    applyToCards("bg");
  });
  $("#bg-image").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return; // cancelled: nothing changes
    try {
      state.bgImage = await createImageBitmap(file);
    } catch {
      showPrivateStatus(`${file.name} can't be used as a background: it is not a picture this browser can read.`, true);
      return;
    }
    document.querySelector("input[name=bg][value=image]").checked = true;
    state.userBg = "image";
    applyToCards("bg");
  });
  for (const r of document.querySelectorAll("input[name=fmt]")) r.addEventListener("change", () => applyToCards("fmt"));
  $("#best").addEventListener("change", () => applyToCards("best"));
  $("#preset").addEventListener("change", () => {
    // the preset's own background, or (a preset without one, or None) the one the user picked last: one
    // preset's white never stays for the next (a pick made after choosing a preset applies as usual)
    const bg = PRESET_BG[$("#preset").value] || state.userBg;
    const radio = document.querySelector(`input[name=bg][value="${bg}"]`);
    if (radio && (bg !== "image" || state.bgImage)) radio.checked = true;
    applyToCards("preset");
  });
  $("#forget-model").addEventListener("click", async () => {
    const removed = await forgetModel();
    showPrivateStatus(removed ? "The downloaded model was removed from this browser; the next private cut-out downloads it again."
      : "No downloaded model is kept in this browser.");
    syncForget();
  });
  $("#files").tabIndex = -1; // the drop zone is the one tab stop for choosing files
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
  syncSelection();
}

function selectedItems() {
  return state.items.filter((i) => i.card.querySelector(".pick").checked);
}

function syncSelection() {
  const n = selectedItems().length;
  $("#apply-note").textContent = n ? `Changes apply to the ${n} selected card${n > 1 ? "s" : ""} and to the next images you drop.`
    : "Changes apply to every card and to the next images you drop; tick cards to change only those.";
}

/** A control changed: give the ticked cards (every card when none is ticked) the new value; redraw, or cut
 * out again for a preset (server mode) or the quality (either mode). */
function applyToCards(what) {
  const now = currentSettings();
  const picked = selectedItems();
  for (const item of picked.length ? picked : state.items) {
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
    if (item.preview) redraw(item);
  }
}

function addFiles(list) {
  if (state.config?.api_key_required && !$("#api-key").value.trim()) {
    $("#api-key").focus();
    return;
  }
  let first = true;
  for (const file of list) {
    const item = { id: state.items.length, file, name: file.name || "image", settings: currentSettings(),
      mode: mode(), status: "queued", reveal: first, droppedAt: performance.now() };
    first = false;
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
  node.dataset.state = "queued";
  node.querySelector("[data-testid=after]").setAttribute("aria-label", `${item.name}: the cut-out`);
  node.querySelector("[data-testid=before]").setAttribute("aria-label", `${item.name}: the original`);
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
  item.card.dataset.state = "failed";
  item.card.classList.remove("provisional");
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
  item.card.dataset.state = "queued";
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
  // while the next one's inference runs (infer worker): no clear gain measured here (docs/studies/web-rounds.md,
  // "Private vs server mode").
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

/** The image's size from its header (PNG, JPEG, WebP, GIF), before anything decodes or uploads it: over the
 * server's max_pixels (/config.json) it is refused here, in both modes, with the limit named. */
async function checkPixels(item) {
  if (item.size === undefined) item.size = await imageSize(item.file).catch(() => null);
  const limit = state.config?.max_pixels;
  if (item.size && limit && item.size.width * item.size.height > limit) {
    throw new Error(pixelLimitMessage(item.name, item.size.width, item.size.height, limit));
  }
}

/** The first card of each drop is brought into view when its result (or preview) shows, if it is not
 * visible (a phone's screen shows the controls, the results are below them). */
function reveal(item) {
  if (!item.reveal) return;
  item.reveal = false;
  const r = item.card.getBoundingClientRect();
  if (r.top >= 0 && r.bottom <= innerHeight) return; // already in full view
  item.card.scrollIntoView({ behavior: "smooth", block: r.height > innerHeight ? "start" : "nearest" });
}

/** Show a card's before/after from preview bitmaps at card size. */
function showPictures(item, cut, before, frameNote) {
  item.preview?.cut.close();
  item.preview?.before.close();
  item.preview = { cut, before };
  item.card.querySelector(".compare").hidden = false;
  const canvas = item.card.querySelector(".before canvas");
  canvas.width = before.width;
  canvas.height = before.height;
  canvas.getContext("2d").drawImage(before, 0, 0);
  item.card.querySelector(".before").title = frameNote || "";
  redraw(item);
  reveal(item);
}

async function process(item) {
  const t0 = performance.now();
  await checkPixels(item);
  item.original ||= await createImageBitmap(item.file, { imageOrientation: "from-image" }); // decoded off-thread
  const settings = item.settings;
  // {width, height, frame, cutPreview, beforePreview}: the cutout's size, how the original maps onto it,
  // and the card's two previews (ImageBitmaps at card size), all made in a worker; the full-size cutout
  // itself stays in the image worker under the card's key (item.id)
  const result = item.mode === "private" ? await cutOutHere(item, t0) : await cutOutOnServer(item, settings);
  item.cut = { width: result.width, height: result.height };
  item.frame = result.frame;
  item.edited = false;
  item.ms = performance.now() - t0;
  item.status = "done";
  item.card.dataset.state = "done";
  item.card.classList.remove("provisional");
  item.card.classList.add("done");
  item.card.querySelector(".dl").disabled = false;
  item.card.querySelector(".edit").disabled = false;
  showSettings(item);
  showPictures(item, result.cutPreview, result.beforePreview, item.frame.note);
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

/** The private-mode worker has its runtime and model: say which, and where the model came from. */
function runtimeReady(info) {
  state.runtime = info;
  window.alphacutDebug.store = { ...info.store, loadMs: info.loadMs };
  const gpu = info.adapter ? ` (${info.adapter.name || "adapter"}${info.adapter.fallback ? ", a software adapter" : ""})` : "";
  const how = info.backend === "webgpu" ? `WebGPU${gpu}` : `WebAssembly, ${info.threads} thread${info.threads > 1 ? "s" : ""}`;
  const kept = { kept: "read from this browser's own store and verified (sha256)",
    downloaded: info.store?.kept ? "downloaded once, verified (sha256) and kept in this browser"
      : state.config.private_model?.sha256 ? "downloaded (not kept: this page is not a secure context, so the browser has no store for it)"
        : "downloaded (not kept: the catalog gives no sha256 to check a kept copy against)" }[info.store?.source] || "";
  showPrivateStatus(`Private mode runs on ${how}${info.isolated ? "" : " (not cross-origin isolated)"}, ` +
    `in a background worker: the image never leaves this tab. The model was ${kept}` +
    `${info.store?.dropped ? " (the kept copy was damaged: dropped and downloaded again)" : ""}.`);
  $("#runtime").textContent = ` · private: ${how}`;
}

/** Private mode chosen: the worker loads the runtime and the model (kept copy or download) and compiles it
 * now, so a drop only waits for the preview's inference. */
function warm() {
  if (state.warm || !state.config?.private_model) return;
  if (state.config.api_key_required && !$("#api-key").value.trim()) return; // the first drop loads it, with the key
  state.warm = warmUp(state.config.private_model, apiHeaders(), {
    onReady: runtimeReady,
    onProgress: ({ stage, fraction }) => {
      if (state.runtime) return;
      showPrivateStatus(stage === "model" ? `Getting the model ready: downloading ${Math.round(fraction * 100)}%…`
        : "Getting the model ready: compiling…");
    },
  }).catch((e) => {
    state.warm = null; // the first drop tries again and its card says what went wrong
    showPrivateStatus(`Private mode could not load its model: ${e.message}`, true);
  });
}

/** The preview's model input side in private mode: the default model takes any size (docs/WEB.md, "Preview"). */
const PREVIEW_SIDE = 320;

const STAGES = { decode: "reading the image", infer: "cutting out in this browser", refine: "refining the edges" };

/** Private mode: decoding and inference run in the infer worker, refinement and previews in the image
 * worker; the card's bar moves with the stages (the inference share is estimated from the previous
 * image's inference time). */
async function cutOutHere(item) {
  let ticker = null;
  const stop = () => clearInterval(ticker);
  // the provisional preview's model input side (?preview=N for the bench, 0: none); see docs/WEB.md
  const knob = new URLSearchParams(location.search).get("preview");
  const side = knob === null ? PREVIEW_SIDE : Number(knob);
  try {
    const r = await cutPrivately(item.file, state.config.private_model, apiHeaders(), {
      best: Boolean(item.settings.best),
      preview: side > 0 && !item.cut ? { side, size: item.size } : null,
      onPreview: (p) => {
        if (p.error) {
          item.card.querySelector(".status").title = `no preview: ${p.error}`;
          return;
        }
        const ms = performance.now() - item.droppedAt;
        (window.alphacutDebug.previews ||= []).push({ name: item.name, fromDropMs: ms, side: p.side, ...p.ms });
        item.card.dataset.state = "preview";
        item.card.classList.add("provisional");
        showPictures(item, p.cutPreview, p.beforePreview, "provisional preview: the full-quality result follows");
        setStatus(item, `preview in ${(ms / 1000).toFixed(1)} s · full quality on the way…`);
      },
      onReady: runtimeReady,
      onProgress: ({ stage, fraction, expectMs }) => {
        stop();
        if (stage === "model") return setStatus(item, `downloading model ${Math.round(fraction * 100)}%`, fraction * 30);
        if (stage === "compile") return setStatus(item, "preparing the model…", 30);
        if (stage === "infer") {
          const t0 = performance.now();
          // after the preview: the full-quality run, which the status says is still to come
          const what = item.card.dataset.state === "preview" ? "preview shown · full quality in progress" : STAGES.infer;
          setStatus(item, what + (item.settings.best ? " (best: the model runs twice)" : ""), 35);
          if (expectMs) {
            ticker = setInterval(() => {
              const f = Math.min(0.97, (performance.now() - t0) / expectMs);
              setStatus(item, `${what}${item.settings.best ? ", best" : ""} (~${Math.max(0, Math.round((expectMs - (performance.now() - t0)) / 1000))} s left)`,
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
