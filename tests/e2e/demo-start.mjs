// What `npm start` runs, on free loopback ports with a fresh data directory: the collector, the
// demo shop (page, checkout API, order-status socket), payments and the worker.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A free loopback port. @returns {Promise<number>} */
const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

/**
 * Starts `scripts/start.mjs` and waits until it printed its URLs.
 * @returns {Promise<{ shopUrl: string, collectorUrl: string, output: () => string, stop: () => void }>}
 *   `output()` is everything printed on stdout so far (the banner and every backend line).
 */
export async function startDemo() {
  const [shop, payments, collector] = [await freePort(), await freePort(), await freePort()];
  const collectorUrl = `http://127.0.0.1:${collector}`;
  const shopUrl = `http://127.0.0.1:${shop}/?collector=${encodeURIComponent(collectorUrl)}`;
  const demo = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    env: {
      ...process.env,
      PORT: String(shop),
      PAYMENTS_PORT: String(payments),
      COLLECTOR_PORT: String(collector),
      DATA_DIR: mkdtempSync(join(tmpdir(), "threadline-demo-")),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  demo.stdout.on("data", (chunk) => { out += chunk; });
  await new Promise((resolve, reject) => {
    demo.stdout.on("data", () => {
      if (out.includes("Ctrl-C stops everything")) resolve();
    });
    demo.on("exit", (code) => reject(new Error(`npm start's script exited (${code}): ${out}`)));
  });
  return { shopUrl, collectorUrl, output: () => out, stop: () => demo.kill("SIGINT") };
}
