// Drives Debian's chromium with playwright-core (no browser download) through the alphacut page.
// Input: one JSON job on stdin. Output: one JSON report on stdout. Called by tests/browser/*.py.
//   {url, mode: "server"|"private", images: [paths], timeoutMs, downloadDir,
//    screenshots: {desktop?: path, phone?: path}, bg?: "#ffffff"|..., apiKey?: str, wantMatte?: bool}
// wantMatte (private mode): report.matte = the last image's matte, the model's matte, the RGBA cutout
// (base64 float32 / uint8) and its timings (ms, inferenceMs, refineMs, decontaminateMs, guided).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const job = JSON.parse(readFileSync(0, "utf8"));
const require = createRequire(join(job.webDir, "package.json"));
const { chromium } = require("playwright-core");

const browser = await chromium.launch({
  executablePath: job.chromium || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-default-apps"],
});
const report = { requests: [], console: [], downloads: {}, statuses: [] };
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("request", (r) => {
    const body = r.postDataBuffer();
    report.requests.push({ method: r.method(), url: r.url(), type: r.resourceType(),
      body_b64: body ? body.toString("base64") : null });
  });
  page.on("console", (m) => report.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => report.console.push(`pageerror: ${e.message}`));

  await page.goto(job.url, { waitUntil: "networkidle" });
  await page.waitForFunction(() => document.querySelector("#model-name").textContent.length > 0);
  if (job.mode === "private") await page.check("[data-testid=mode-private]");
  if (job.apiKey) await page.fill("#api-key", job.apiKey);
  if (job.bg) await page.locator("label.bg-opt", { has: page.locator(`input[name=bg][value="${job.bg}"]`) }).click();
  await page.setInputFiles("[data-testid=files]", job.images);
  const n = job.images.length;
  await page.waitForFunction((count) => document.querySelectorAll(".card.done, .card.failed").length >= count,
    n, { timeout: job.timeoutMs || 120000, polling: 500 });
  report.note = await page.textContent("#private-status");
  report.statuses = await page.$$eval("[data-testid=status]", (els) => els.map((e) => e.textContent));

  if (await page.locator(".card.done").count()) {
    const [one] = await Promise.all([page.waitForEvent("download"), page.click(".card.done [data-testid=download]")]);
    const path = join(job.downloadDir, one.suggestedFilename());
    await one.saveAs(path);
    report.downloads.one = path;
    const [zip] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=zip]")]);
    const zpath = join(job.downloadDir, zip.suggestedFilename());
    await zip.saveAs(zpath);
    report.downloads.zip = zpath;
  }
  if (job.wantMatte) {
    report.matte = await page.evaluate(() => {
      const b64 = (arr) => {
        const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
        let s = "";
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(s);
      };
      const { lastLow: low, lastMatte: m, lastCutout: cut } = window.alphacutDebug;
      if (!m) return null;
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
  await browser.close();
}
process.stdout.write(JSON.stringify(report));
