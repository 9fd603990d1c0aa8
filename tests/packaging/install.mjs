// Prepares a fixture app for the packaging matrix: its pinned packages installed once into a cache
// directory outside the repo (keyed by its lock file), the package's `npm pack` tarball unpacked
// into its node_modules when the tarball changed, and the fixture's sources copied in fresh.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const repo = new URL("../..", import.meta.url).pathname;
const here = join(repo, "tests", "packaging");
const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "threadline", "packaging");
/** What a fixture's build leaves behind; removed before every run so each build is real. */
const OUTPUTS = ["dist", ".next", ".next-webpack", ".next-turbopack", "node_modules/.vite"];

const sha = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 16);

/** Packs the built package (`npm run build` first) and returns the tarball's path. */
export async function packTarball() {
  const out = mkdtempSync(join(tmpdir(), "threadline-pack-"));
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", out], { cwd: repo });
  return join(out, JSON.parse(stdout)[0].filename);
}

/** Removes what `packTarball` wrote. */
export function removeTarball(tarball) {
  rmSync(dirname(tarball), { recursive: true, force: true });
}

/** A lock older than this was left by a run that died; one fixture's test takes far less. */
const STALE_LOCK_MS = 20 * 60_000;
const LOCK_WAIT_MS = 15 * 60_000;

/**
 * Runs `use(dir)` with `fixture` ready to build in `dir`, holding the directory alone (two test
 * runs on one machine share the cache): `npm ci --prefer-offline` once per lock file, the tarball
 * unpacked where npm puts a dependency-free package, earlier build output removed, sources copied.
 */
export async function withFixture(fixture, tarball, log, use) {
  const source = join(here, "fixtures", fixture);
  const work = join(cacheRoot, `${fixture}-${sha(readFileSync(join(source, "package-lock.json")))}`);
  const lock = `${work}.lock`;
  mkdirSync(cacheRoot, { recursive: true });
  for (const deadline = Date.now() + LOCK_WAIT_MS; ;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${lock} is still held by another test run`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    await prepare(source, work, tarball, log);
    return await use(work);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function prepare(source, work, tarball, log) {
  const fixture = basename(source);
  if (!existsSync(join(work, "node_modules", ".package-lock.json"))) {
    log(`installing ${fixture}'s packages into ${work}`);
    mkdirSync(work, { recursive: true });
    cpSync(join(source, "package.json"), join(work, "package.json"));
    cpSync(join(source, "package-lock.json"), join(work, "package-lock.json"));
    await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: work, timeout: 600_000 });
  }
  const packed = readFileSync(tarball);
  const installed = join(work, "node_modules", "threadline");
  const stamp = join(work, "node_modules", ".threadline-tarball");
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== sha(packed)) {
    rmSync(installed, { recursive: true, force: true });
    mkdirSync(installed, { recursive: true });
    await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
    writeFileSync(stamp, sha(packed));
  }
  for (const output of OUTPUTS) rmSync(join(work, output), { recursive: true, force: true });
  cpSync(source, work, { recursive: true, filter: (path) => !path.endsWith("package-lock.json") });
  mkdirSync(join(work, "src"), { recursive: true });
  for (const file of ["start.js", "main.js"]) cpSync(join(here, "app", file), join(work, "src", file));
  // Vite's page: the fixtures that load a bundle bring their own.
  if (!existsSync(join(source, "index.html"))) cpSync(join(here, "app", "index.html"), join(work, "index.html"));
}
