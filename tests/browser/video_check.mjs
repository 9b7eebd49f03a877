// Plays a .webm (VP9 with alpha) in a <video> over a coloured page in Debian's chromium and returns a
// screenshot of the video's box, to check the page's colour shows where the matte is 0.
// Input (stdin JSON): {webDir, chromium?, html: path of the page, timeoutMs?}. Output (stdout JSON):
// {png_b64, box: {x, y, width, height}, readyState, console: [...]}.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const job = JSON.parse(readFileSync(0, "utf8"));
const require = createRequire(join(job.webDir, "package.json"));
const { chromium } = require("playwright-core");

const browser = await chromium.launch({
  executablePath: job.chromium || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--allow-file-access-from-files"],
});
const report = { console: [] };
try {
  const page = await browser.newPage({ viewport: { width: 400, height: 300 }, deviceScaleFactor: 1 });
  page.on("console", (m) => report.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => report.console.push(`pageerror: ${e.message}`));
  await page.goto(pathToFileURL(job.html).href);
  await page.waitForFunction(() => window.videoReady === true || window.videoError, null,
    { timeout: job.timeoutMs || 30000 });
  report.error = await page.evaluate(() => window.videoError || null);
  report.readyState = await page.evaluate(() => document.querySelector("video").readyState);
  const box = await page.locator("video").boundingBox();
  report.box = box;
  const png = await page.screenshot({ clip: box });
  report.png_b64 = png.toString("base64");
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));
