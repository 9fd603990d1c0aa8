// The demo that `npm start` serves: a person clicks Pay and sees the ID the API received.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { ID, launchBrowser } from "./harness.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

let demo;
let browser;
let ports;
before(async () => {
  ports = [await freePort(), await freePort()];
  demo = spawn(process.execPath, [join(root, "www", "serve.mjs")], {
    env: { ...process.env, PORT: String(ports[0]), API_PORT: String(ports[1]) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  await new Promise((resolve, reject) => {
    demo.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("Ctrl-C")) resolve();
    });
    demo.once("exit", (code) => reject(new Error(`demo exited with ${code}: ${out}`)));
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  demo?.kill("SIGINT");
});

test("clicking Pay in the demo shows both requests carried the same action ID", async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${ports[0]}/?api=http://127.0.0.1:${ports[1]}`);
  await page.waitForFunction(() => /^[0-9a-f]{32}$/.test(document.getElementById("session").textContent));
  await page.click("#pay");
  await page.waitForFunction(() => document.querySelectorAll("#log tr").length === 2);
  const rows = await page.$$eval("#log tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.equal(rows[0][0], "checkout_submit");
  assert.match(rows[0][3], ID);
  assert.equal(rows[1][3], rows[0][3]);
  await page.click("#flaky");
  await page.waitForFunction(() => document.querySelectorAll("#log tr").length === 5, null, { timeout: 10_000 });
  const flaky = await page.$$eval("#log tr", (trs) => trs.slice(0, 3).map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(flaky.map((r) => r[2]), ["200", "503", "503"]);
  assert.equal(new Set(flaky.map((r) => r[3])).size, 1, "the retries carry one ID");
  assert.notEqual(flaky[0][3], rows[0][3]);
  mkdirSync(join(root, "test-results"), { recursive: true });
  await page.screenshot({ path: join(root, "test-results", "demo.png"), fullPage: true });
  await page.close();
});
