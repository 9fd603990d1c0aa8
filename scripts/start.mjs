// `npm start` (after setup and the recorder's build): builds the collector and the demo backend,
// starts the collector (SQLite file in data/), the demo shop (page + checkout API), payments and
// the worker, waits until they answer, prints the URLs and the collector's read token (the
// search page asks for it once), and stops everything on Ctrl-C. The demo backend sends with
// the collector's write token, so its lines are shown as backend lines.
// Ports: PORT (shop, 8080), PAYMENTS_PORT (8082), COLLECTOR_PORT (4318); DATA_DIR (data/).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const shopPort = Number(process.env.PORT || 8080);
const paymentsPort = Number(process.env.PAYMENTS_PORT || 8082);
const collectorPort = Number(process.env.COLLECTOR_PORT || 4318);
const shop = `http://127.0.0.1:${shopPort}`;
const collector = `http://127.0.0.1:${collectorPort}`;

execFileSync("cargo", ["build", "-p", "threadline-collector", "-p", "threadline-demo"], { cwd: root, stdio: "inherit" });
const dataDir = process.env.DATA_DIR || join(root, "data");
mkdirSync(dataDir, { recursive: true });

const children = [];
function start(name, args, env = process.env) {
  const child = spawn(join(root, "target", "debug", name), args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${name} stopped (${signal || code}); stopping the rest.`);
      stop(1);
    }
  });
  children.push(child);
}

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const child of children) child.kill("SIGINT");
  setTimeout(() => process.exit(code), 500).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

// The demo's tokens live beside its database; the collector writes them on first start.
const readTokenFile = join(dataDir, "threadline.sqlite.read-token");
const writeTokenFile = join(dataDir, "threadline.sqlite.write-token");
const { THREADLINE_READ_TOKEN, THREADLINE_WRITE_TOKEN, ...collectorEnv } = process.env;
start("threadline-collector", [
  "--listen", `127.0.0.1:${collectorPort}`,
  "--db", join(dataDir, "threadline.sqlite"),
  "--cors-origin", shop,
  "--read-token-file", readTokenFile,
  "--write-token-file", writeTokenFile,
], collectorEnv);

async function answers(url) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} does not answer`);
}
await answers(`${collector}/`);
const readToken = readFileSync(readTokenFile, "utf8").trim();
const writeToken = readFileSync(writeTokenFile, "utf8").trim();
start("threadline-demo", [
  "--port", String(shopPort),
  "--payments-port", String(paymentsPort),
  "--collector", collector,
  "--root", root,
], { ...process.env, THREADLINE_WRITE_TOKEN: writeToken });
await answers(`${shop}/`);
const shopUrl = collectorPort === 4318 ? `${shop}/` : `${shop}/?collector=${encodeURIComponent(collector)}`;
console.log(`
  Demo shop:  ${shopUrl}
              pick "fails (502)", click Pay, copy the debug ID from the dialog
  Session:    the page shows its session ID and links ${collector}/?id=<session ID>
              ("search it"): the page's events and every checkout, payments, worker and socket line
  Collector:  ${collector}/   paste the ID to see the whole story
  Read token: ${readToken}   the collector's page asks for it once
  Ctrl-C stops everything.
`);
