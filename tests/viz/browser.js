// Browser harness of the page tests: Debian's chromium (/usr/bin/chromium, or $CHROMIUM) driven
// headless by the pinned playwright-core in tests/peers. A page is opened from its file with
// every network request refused and recorded (pages must be self-contained), console errors and
// uncaught exceptions collected, and a screenshot written under build/test-artifacts/.
//
//   const B = require("./browser");
//   const t = B.tests();                      // tiny runner: t.check(cond, what), t.done()
//   await B.withPage(file, "name", async (page, info) => { ... }, t);
"use strict";
const fs = require("fs");
const path = require("path");

const ROOT = process.env.ZEMBED_ROOT || path.resolve(__dirname, "..", "..");
const ARTIFACTS = process.env.ZEMBED_ARTIFACTS || path.join(ROOT, "build", "test-artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// null when the browser or the driver is missing (the caller reports a skip).
function driver() {
  if (!fs.existsSync(CHROMIUM)) return { skip: "needs chromium at " + CHROMIUM + " (deploy/install-deps.sh --test-peers)" };
  try {
    return { pw: require(path.join(ROOT, "tests", "peers", "node_modules", "playwright-core")) };
  } catch (e) {
    return { skip: "needs playwright-core in tests/peers/node_modules (deploy/install-deps.sh --test-peers)" };
  }
}

let browser = null;
async function launch() {
  if (!browser) {
    const d = driver();
    browser = await d.pw.chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  }
  return browser;
}

// Opens file in a fresh page, runs fn(page, info), writes build/test-artifacts/<shot>.png.
// info: {errors: [console errors and page exceptions], requests: [refused network URLs]}.
async function withPage(file, shot, fn, opts) {
  opts = opts || {};
  const b = await launch();
  const ctx = await b.newContext({ viewport: { width: opts.width || 1280, height: opts.height || 860 } });
  const page = await ctx.newPage();
  const info = { errors: [], requests: [] };
  page.on("console", (m) => { if (m.type() === "error") info.errors.push(m.text()); });
  page.on("pageerror", (e) => info.errors.push(String(e)));
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith("file:") || u.startsWith("data:")) return route.continue();
    info.requests.push(u);
    return route.abort();
  });
  try {
    await page.goto("file://" + path.resolve(file), { waitUntil: "load" });
    await page.waitForFunction(() => window.zembed && window.zembed.ready, null, { timeout: 30000 });
    await fn(page, info);
  } finally {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const out = path.join(ARTIFACTS, shot + ".png");
    await page.screenshot({ path: out, fullPage: !!opts.fullPage }).catch(() => {});
    console.log("screenshot: " + out);
    await ctx.close();
  }
  return info;
}

async function close() {
  if (browser) await browser.close();
  browser = null;
}

function tests() {
  const r = { passed: 0, failed: 0, skipped: 0 };
  r.check = (cond, what) => {
    if (cond) { r.passed++; console.log("ok   " + what); }
    else { r.failed++; console.log("FAIL " + what); }
  };
  r.skip = (why) => { r.skipped++; console.log("skipped: " + why); };
  r.done = () => {
    console.log(r.passed + " passed, " + r.failed + " failed, " + r.skipped + " skipped");
    return r.failed ? 1 : 0;
  };
  return r;
}

// The whole of a check script: B.main(async (t, args) => { ... }) with args = process.argv's
// operands; a missing browser is one reported skip; the exit status and the closing line follow.
function main(body) {
  const t = tests();
  const d = driver();
  const go = d.skip ? Promise.resolve(t.skip(d.skip)) : body(t, process.argv.slice(2)).then(close);
  go.then(() => process.exit(t.done()), (e) => { console.error(e); console.log("0 passed, 1 failed"); process.exit(1); });
}

module.exports = { driver, withPage, close, tests, main, ARTIFACTS, ROOT };
