// The private-mode model, downloaded once: kept in the browser's Cache Storage under its URL and sha256
// (/config.json's private_model.sha256) and checked against that sha256 (SubtleCrypto) every time before
// use; a copy that does not match is dropped and downloaded again. The page's "Forget the downloaded model"
// control deletes the store. Cache Storage and SubtleCrypto exist only in secure contexts (https, or
// localhost / 127.0.0.1): elsewhere the model is downloaded on each visit and the page says so.

export const MODEL_CACHE = "alphacut-models";

const keyOf = (model) => `${model.url}?sha256=${model.sha256}`;

export function canKeep(model) {
  return Boolean(model?.sha256 && self.caches && self.crypto?.subtle);
}

async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function download(url, headers, onProgress) {
  const res = await fetch(url, { headers, cache: "no-store" }); // the page's own store keeps it, not the HTTP cache
  if (!res.ok) throw new Error(`model download failed: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length")) || 0;
  if (!res.body || !total) return new Uint8Array(await res.arrayBuffer());
  const out = new Uint8Array(total);
  const reader = res.body.getReader();
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value, got);
    got += value.length;
    onProgress(got / total);
  }
  return out;
}

/**
 * The model's bytes: {bytes, source: "kept" | "downloaded", dropped (a kept copy failed its check), ms:
 * {read, verify, download}}. Downloaded bytes that do not match the sha256 are an error (never used).
 */
export async function modelBytes(model, headers, onProgress) {
  const ms = { read: 0, verify: 0, download: 0 };
  let t = performance.now();
  if (!canKeep(model)) {
    const bytes = await download(model.url, headers, onProgress);
    ms.download = performance.now() - t;
    return { bytes, source: "downloaded", dropped: false, kept: false, ms };
  }
  const cache = await caches.open(MODEL_CACHE);
  let dropped = false;
  const hit = await cache.match(keyOf(model));
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    ms.read = performance.now() - t;
    t = performance.now();
    const ok = (await sha256Hex(bytes)) === model.sha256;
    ms.verify = performance.now() - t;
    if (ok) return { bytes, source: "kept", dropped, kept: true, ms };
    dropped = true; // damaged or tampered with: never used
    await cache.delete(keyOf(model));
    t = performance.now();
  }
  const bytes = await download(model.url, headers, onProgress);
  ms.download = performance.now() - t;
  t = performance.now();
  const hex = await sha256Hex(bytes);
  ms.verify += performance.now() - t;
  if (hex !== model.sha256) {
    throw new Error(`the model file from the server does not match its sha256 (${model.sha256.slice(0, 12)}…, got ` +
      `${hex.slice(0, 12)}…): not used. Run \`alphacut models verify\` on the server.`);
  }
  // one copy per model file: older versions of it go
  for (const req of await cache.keys()) if (req.url.split("?")[0].endsWith(model.url)) await cache.delete(req);
  await cache.put(keyOf(model), new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
  return { bytes, source: "downloaded", dropped, kept: true, ms };
}

/** Whether a copy of `model` is kept (not checked here: it is checked when used). */
export async function isKept(model) {
  if (!canKeep(model)) return false;
  return Boolean(await (await caches.open(MODEL_CACHE)).match(keyOf(model)));
}

/** Delete every kept model; true if there was one. */
export async function forgetAll() {
  if (!self.caches) return false;
  const had = (await caches.keys()).includes(MODEL_CACHE) && (await (await caches.open(MODEL_CACHE)).keys()).length > 0;
  await caches.delete(MODEL_CACHE);
  return had;
}
