// Drives Debian's chromium with playwright-core (no browser download) through the alphacut page.
// Input: one JSON job on stdin. Output: one JSON report on stdout. Called by tests/browser/*.py.
//   {url, mode: "server"|"private", images: [paths], timeoutMs, downloadDir,
//    screenshots: {desktop?: path, phone?: path}, viewport?: [w, h], userDataDir?: path (persistent profile), bg?: "#ffffff"|..., preset?: str, apiKey?: str,
//    wantMatte?: bool, measureGaps?: bool, webgpu?: bool, probeOnly?: bool, steps?: [...]}
// report.webgpuAdapter: the WebGPU adapter a worker of the page gets ({vendor, architecture, fallback}) or null;
// probeOnly: stop after loading the page (nothing dropped).
// wantMatte (private mode): report.matte = the last image's matte, the model's matte, the RGBA cutout
// (base64 float32 / uint8) and its timings (ms, inferenceMs, refineMs, decontaminateMs, guided).
// measureGaps: report.gaps = the longest main-thread gap (a 10 ms timer's lateness) while the batch ran,
// the longest long task, and the progress bars' values sampled every 200 ms; with idleGapsMs, report.idleGaps
// = the same measured for that long with the page idle first (the machine's own load).
// trace: a Chromium trace while the batch runs; report.trace = the page's main-thread tasks longer than
// traceMinMs (50) with wall and CPU time and what they spent it on (longtasks.mjs); tracePath keeps the raw trace;
// traceSteps: the same for the steps after the batch (report.stepsTrace).
// Without steps: download the first done card and the ZIP. With steps, each one of
//   {do: "download", card, as} {do: "zip", as} {do: "bg", value} {do: "preset", value} {do: "pick", card} {do: "unpick", card}
//   {do: "press", key} {do: "focus", selector} {do: "click", selector} {do: "tab", count, shift?, as}
//   {do: "files", images} (drop, don't wait) {do: "waitFor", expr, timeoutMs?} {do: "viewport", size: [w, h]}
//   {do: "chooser", selector, images?, as} (report.values[as]: whether a file chooser opened; no images: cancelled)
//   {do: "reload"} (HTTP cache cleared first; requests after it follow a {method: "RELOAD"} marker)
//   {do: "drop", images} (report.values.dropMs: drop to all done, ms) {do: "eval", expr, as} {do: "screenshot", path, fullPage?}
//   {do: "edit", card, actions: [{stroke: [[x, y], ...] (image px), tool?, size?, edge?, touch?},
//     {press: "Control+z"}, {click: selector}, {wheel: [x, y, deltaY]}, {pinch: [x, y, factor]},
//     {spaceDrag: [x0, y0, x1, y1]},
//     {screenshot: path}, {viewport: [w, h]}, {eval: expr, as}], finish: "done"|"cancel"|"none" (left open)}
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mainThreadTasks, TRACE_CATEGORIES } from "./longtasks.mjs";

const job = JSON.parse(readFileSync(0, "utf8"));
const require = createRequire(join(job.webDir, "package.json"));
const { chromium } = require("playwright-core");

// webgpu: WebGPU on (no --disable-gpu); without a GPU, Chromium's adapter is SwiftShader (software, on the CPU)
const launch = {
  executablePath: job.chromium || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", ...(job.webgpu ? ["--enable-unsafe-webgpu"] : ["--disable-gpu"]), "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-default-apps"],
};
const contextOptions = { acceptDownloads: true, viewport: { width: (job.viewport || [1280])[0], height: (job.viewport || [0, 900])[1] },
  hasTouch: true };
// userDataDir: a persistent profile (Cache Storage, HTTP cache) that a later job with the same directory sees
const persistent = job.userDataDir ? await chromium.launchPersistentContext(job.userDataDir, { ...launch, ...contextOptions }) : null;
const browser = persistent ? null : await chromium.launch(launch);
const closeAll = () => (persistent ? persistent.close() : browser.close());
const report = { requests: [], console: [], downloads: {}, statuses: [], values: {} };
const doneCount = (page, n, timeout) => page.waitForFunction(
  (count) => document.querySelectorAll(".card.done, .card.failed").length >= count
    && !document.querySelector(".card:not(.done):not(.failed)"), n, { timeout, polling: 200 });

async function download(page, selector, as) {
  const [one] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const path = join(job.downloadDir, `${as}-${one.suggestedFilename()}`);
  await one.saveAs(path);
  report.downloads[as] = path;
  report.values[`${as}Name`] = one.suggestedFilename();
}

async function touchStroke(page, cdp, points) {
  const tp = (p) => [{ x: p[0], y: p[1], id: 1 }];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: tp(points[0]) });
  for (const p of points.slice(1)) await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: tp(p) });
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
}

async function pinch(cdp, x, y, factor) {
  const at = (d) => [{ x: x - d, y, id: 1 }, { x: x + d, y, id: 2 }];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: at(40) });
  for (let k = 1; k <= 8; k++) {
    await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: at(40 * (1 + ((factor - 1) * k) / 8)) });
  }
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
}

async function edit(page, cdp, step) {
  await page.locator("[data-testid=card]").nth(step.card || 0).locator("[data-testid=edit]").click();
  await page.waitForSelector("[data-testid=editor]:not([hidden])");
  await page.waitForTimeout(100);
  for (const a of step.actions || []) {
    if (a.stroke) {
      await page.evaluate(({ tool, size, edge }) => {
        if (tool) document.querySelector(tool === "erase" ? "#ed-erase" : "#ed-restore").click();
        if (size) { const s = document.querySelector("#ed-size"); s.value = String(size); s.dispatchEvent(new Event("input")); }
        if (edge !== undefined) { const c = document.querySelector("#ed-edge"); c.checked = edge; c.dispatchEvent(new Event("change")); }
      }, a);
      const pts = await page.evaluate((p) => p.map(([x, y]) => window.alphacutEditor().toScreen(x, y)), a.stroke);
      if (a.touch) await touchStroke(page, cdp, pts);
      else {
        await page.mouse.move(pts[0][0], pts[0][1]);
        await page.mouse.down();
        for (const p of pts.slice(1)) await page.mouse.move(p[0], p[1], { steps: 4 });
        await page.mouse.up();
      }
      // an edge-aware stroke is finished in the image worker: wait for it (as a user sees it land)
      await page.waitForFunction(() => !window.alphacutEditor()?.pending, null, { timeout: 60000, polling: 20 });
    } else if (a.press) await page.keyboard.press(a.press);
    else if (a.click) await page.click(a.click);
    else if (a.wheel) {
      await page.mouse.move(a.wheel[0], a.wheel[1]);
      await page.mouse.wheel(0, a.wheel[2]);
    } else if (a.pinch) await pinch(cdp, ...a.pinch);
    else if (a.spaceDrag) { // hold space and drag: pans, never paints
      const [x0, y0, x1, y1] = a.spaceDrag;
      await page.keyboard.down(" ");
      await page.mouse.move(x0, y0);
      await page.mouse.down();
      await page.mouse.move(x1, y1, { steps: 5 });
      await page.mouse.up();
      await page.keyboard.up(" ");
    }
    else if (a.screenshot) await page.screenshot({ path: a.screenshot });
    else if (a.viewport) {
      await page.setViewportSize({ width: a.viewport[0], height: a.viewport[1] });
      await page.waitForTimeout(200);
      await page.keyboard.press("0"); // fit the new view
    }
    else if (a.eval) report.values[a.as] = await page.evaluate(a.eval);
    await page.waitForTimeout(50);
  }
  if (step.finish === "none") return; // left open: later steps use the keyboard
  await page.click(step.finish === "cancel" ? "[data-testid=ed-cancel]" : "[data-testid=ed-done]");
}

// The element with focus, described: its id, data-testid or tag, and whether it is inside the editor.
const FOCUSED = `(() => { const e = document.activeElement; return { id: e?.id || "", testid: e?.dataset?.testid || "",
  tag: e?.tagName || "", inEditor: Boolean(e?.closest?.("#editor")) }; })()`;

/** Click `selector` (the background's "Image…" label) and wait up to 3 s for a file chooser; give it
 * `images` (or nothing: cancelled) and say whether one opened. */
async function chooser(page, step) {
  const opened = page.waitForEvent("filechooser", { timeout: 3000 }).catch(() => null);
  await page.click(step.selector);
  const fc = await opened;
  if (fc) await fc.setFiles(step.images || []);
  await page.waitForTimeout(300);
  return Boolean(fc);
}

try {
  const context = persistent || await browser.newContext(contextOptions);
  const page = persistent?.pages()[0] || await context.newPage();
  const cdp = await context.newCDPSession(page);
  page.on("request", (r) => {
    const body = r.postDataBuffer();
    report.requests.push({ method: r.method(), url: r.url(), type: r.resourceType(),
      body_b64: body ? body.toString("base64") : null });
  });
  page.on("console", (m) => report.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => report.console.push(`pageerror: ${e.message}`));

  await page.goto(job.url, { waitUntil: "networkidle" });
  await page.waitForFunction(() => document.querySelector("#model-name").textContent.length > 0);
  report.isolated = await page.evaluate(() => self.crossOriginIsolated);
  // the page's WebGPU adapter as a worker sees it (private mode asks from its worker), or null
  report.webgpuAdapter = await page.evaluate(() => new Promise((resolve) => {
    const w = new Worker(URL.createObjectURL(new Blob([`(async () => {
      const a = await navigator.gpu?.requestAdapter().catch(() => null);
      postMessage(a ? { vendor: a.info?.vendor, architecture: a.info?.architecture,
        fallback: Boolean(a.info?.isFallbackAdapter ?? a.isFallbackAdapter) } : null);
    })()`], { type: "text/javascript" })));
    w.onmessage = ({ data }) => { w.terminate(); resolve(data); };
    w.onerror = () => { w.terminate(); resolve(null); };
  }));
  if (job.probeOnly) {
    await closeAll();
    process.stdout.write(JSON.stringify(report));
    process.exit(0);
  }
  report.keyNeeded = await page.evaluate(() => !document.querySelector("#key-needed").hidden
    && document.querySelector("#files").disabled);
  if (job.mode === "private") await page.check("[data-testid=mode-private]");
  if (job.apiKey) await page.fill("#api-key", job.apiKey);
  if (job.bg) await page.locator("label.bg-opt", { has: page.locator(`input[name=bg][value="${job.bg}"]`) }).click();
  if (job.preset) await page.selectOption("[data-testid=preset]", job.preset);
  if (job.measureGaps) {
    await page.evaluate(() => {
      const g = { max: 0, last: performance.now(), longTask: 0, samples: [], on: true };
      window.__gaps = g;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          g.longTask = Math.max(g.longTask, e.duration);
          (g.tasks ||= []).push([Math.round(e.startTime), Math.round(e.duration)]);
        }
      })
        .observe({ type: "longtask" });
      const tick = () => {
        const now = performance.now();
        if (g.on) g.max = Math.max(g.max, now - g.last);
        if (g.on && now - g.last > 100) (g.big ||= []).push([Math.round(g.last), Math.round(now - g.last),
          [...document.querySelectorAll("[data-testid=status]")].map((e) => e.textContent).join(" | ")]);
        g.last = now;
        if (g.on) setTimeout(tick, 10);
      };
      tick();
      const sample = setInterval(() => {
        if (!g.on) return clearInterval(sample);
        g.samples.push([...document.querySelectorAll("[data-testid=progress]")].map((p) => (p.hasAttribute("value") ? p.value : -1)));
        return undefined;
      }, 200);
    });
  }
  if (job.measureGaps && job.idleGapsMs) { // the same timer with the page idle: what the machine's load alone does
    await page.waitForTimeout(job.idleGapsMs);
    report.idleGaps = await page.evaluate(() => {
      const g = window.__gaps, out = { max: g.max, longTask: g.longTask };
      g.max = 0; g.longTask = 0; g.big = []; g.tasks = []; g.samples = [];
      return out;
    });
  }
  if (job.trace) await browser.startTracing(page, { categories: TRACE_CATEGORIES });
  await page.setInputFiles("[data-testid=files]", job.images);
  await doneCount(page, job.images.length, job.timeoutMs || 120000);
  if (job.trace) {
    const raw = await browser.stopTracing();
    if (job.tracePath) writeFileSync(job.tracePath, raw);
    report.trace = mainThreadTasks(JSON.parse(raw.toString("utf8")), { minMs: job.traceMinMs ?? 50 });
  }
  if (job.measureGaps) {
    report.gaps = await page.evaluate(() => { window.__gaps.on = false; const { max, longTask, samples, big, tasks } = window.__gaps; return { max, longTask, samples, big, tasks }; });
  }
  report.note = await page.textContent("#private-status");
  report.statuses = await page.$$eval("[data-testid=status]", (els) => els.map((e) => e.textContent));
  report.names = await page.$$eval("[data-testid=name]", (els) => els.map((e) => ({ text: e.textContent,
    clipped: e.scrollWidth > e.clientWidth + 1 })));
  report.settings = await page.$$eval("[data-testid=settings]", (els) => els.map((e) => e.textContent));
  report.downloadButtons = await page.$$eval("[data-testid=download]", (els) => els.map((e) => ({
    visible: e.offsetParent !== null, disabled: e.disabled })));

  if (job.steps) {
    if (job.traceSteps) await browser.startTracing(page, { categories: TRACE_CATEGORIES });
    for (const step of job.steps) {
      if (step.do === "download") await download(page, `[data-testid=card] >> nth=${step.card || 0} >> [data-testid=download]`, step.as);
      else if (step.do === "zip") await download(page, "[data-testid=zip]", step.as);
      else if (step.do === "bg") await page.locator("label.bg-opt", { has: page.locator(`input[name=bg][value="${step.value}"]`) }).click();
      else if (step.do === "preset") await page.selectOption("[data-testid=preset]", step.value);
      else if (step.do === "pick") await page.locator("[data-testid=card]").nth(step.card).locator("[data-testid=pick]").check();
      else if (step.do === "unpick") await page.locator("[data-testid=card]").nth(step.card).locator("[data-testid=pick]").uncheck();
      else if (step.do === "drop") {
        const before = await page.locator("[data-testid=card]").count();
        const t0 = await page.evaluate(() => performance.now());
        await page.setInputFiles("[data-testid=files]", step.images);
        await doneCount(page, before + step.images.length, job.timeoutMs || 120000);
        (report.values.dropMs ||= []).push(await page.evaluate(() => performance.now()) - t0);
      } else if (step.do === "wait") {
        await page.waitForTimeout(300);
        await doneCount(page, await page.locator("[data-testid=card]").count(), job.timeoutMs || 120000);
      } else if (step.do === "eval") report.values[step.as] = await page.evaluate(step.expr);
      else if (step.do === "screenshot") await page.screenshot({ path: step.path, fullPage: Boolean(step.fullPage) });
      else if (step.do === "edit") await edit(page, cdp, step);
      else if (step.do === "press") await page.keyboard.press(step.key);
      else if (step.do === "focus") await page.focus(step.selector);
      else if (step.do === "click") await page.click(step.selector);
      else if (step.do === "tab") { // press Tab `count` times; report.values[as] = where the focus went each time
        const seen = [];
        for (let k = 0; k < step.count; k++) {
          await page.keyboard.press(step.shift ? "Shift+Tab" : "Tab");
          seen.push(await page.evaluate(FOCUSED));
        }
        report.values[step.as] = seen;
      } else if (step.do === "files") await page.setInputFiles("[data-testid=files]", step.images); // no wait
      else if (step.do === "waitFor") {
        // polled here (the expression is evaluated as page.evaluate does); a timeout is not an error: the
        // test checks the state after it
        const end = Date.now() + (step.timeoutMs || 120000);
        while (!(await page.evaluate(step.expr))) {
          if (Date.now() > end) { report.console.push(`waitFor timed out: ${step.expr.slice(0, 80)}`); break; }
          await page.waitForTimeout(step.pollMs || 50);
        }
      } else if (step.do === "chooser") report.values[step.as] = await chooser(page, step);
      else if (step.do === "viewport") {
        await page.setViewportSize({ width: step.size[0], height: step.size[1] });
        await page.waitForTimeout(200);
      } else if (step.do === "reload") { // a new visit: HTTP cache emptied, so only the page's own store can keep a file
        await cdp.send("Network.clearBrowserCache");
        report.requests.push({ method: "RELOAD", url: "", type: "", body_b64: null });
        await page.reload({ waitUntil: "networkidle" });
        await page.waitForFunction(() => document.querySelector("#model-name").textContent.length > 0);
        if (job.mode === "private") await page.check("[data-testid=mode-private]");
      } else throw new Error(`unknown step ${step.do}`);
    }
    if (job.traceSteps) {
      report.stepsTrace = mainThreadTasks(JSON.parse((await browser.stopTracing()).toString("utf8")),
        { minMs: job.traceMinMs ?? 50 });
    }
    report.statuses = await page.$$eval("[data-testid=status]", (els) => els.map((e) => e.textContent));
    report.settings = await page.$$eval("[data-testid=settings]", (els) => els.map((e) => e.textContent));
  } else if (await page.locator(".card.done").count()) {
    await download(page, ".card.done >> nth=0 >> [data-testid=download]", "one");
    await download(page, "[data-testid=zip]", "zip");
  }
  if (job.wantMatte) {
    report.matte = await page.evaluate(async () => {
      const b64 = (arr) => {
        const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
        let s = "";
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(s);
      };
      const { lastLow: low, lastMatte: m, lastCutoutKey: key } = window.alphacutDebug;
      if (!m) return null;
      const cut = { data: (await window.alphacutDebug.cutout(key)).rgba };
      const { matte, ...info } = m;
      return { ...info, b64: b64(matte), low: { width: low.width, height: low.height, b64: b64(low.matte) },
        cutout_b64: b64(cut.data) };
    });
  }
  if (job.screenshots?.desktop) {
    await page.screenshot({ path: job.screenshots.desktop, fullPage: true });
  }
  if (job.screenshots?.phone) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: job.screenshots.phone, fullPage: true });
  }
} finally {
  await closeAll();
}
process.stdout.write(JSON.stringify(report));
