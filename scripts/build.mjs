// `npm run build`: Rust → wasm → wasm-bindgen (--target web) → wasm-opt -Oz → esbuild bundles
// (ESM and script-tag IIFE) in dist/, then prints the bytes a page downloads.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { applyShortNames, parseMapping } from "./short-names.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });
const dist = join(root, "dist");
const pkg = join(root, "build", "pkg");

run("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "--lib"]);
rmSync(pkg, { recursive: true, force: true });
run("wasm-bindgen", [
  "target/wasm32-unknown-unknown/release/threadline.wasm",
  "--target", "web", "--out-dir", pkg, "--out-name", "threadline", "--no-typescript",
  // Every supported browser has TextEncoder.encodeInto; the wasm URL is always passed in.
  "--encode-into", "always", "--omit-default-module-path",
]);
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const mapping = execFileSync(join(root, "node_modules", ".bin", "wasm-opt"), [
  "-Oz", "--strip-producers", "--strip-target-features", "--minify-imports-and-exports-and-modules",
  join(pkg, "threadline_bg.wasm"), "-o", join(dist, "threadline_bg.wasm"),
], { cwd: root, encoding: "utf8" });
const gluePath = join(pkg, "threadline.js");
writeFileSync(gluePath, applyShortNames(readFileSync(gluePath, "utf8"), parseMapping(mapping)));

/**
 * wasm-bindgen's glue imports its copies of the `js/` snippets; they resolve to the files
 * themselves, so the entries, which import the same files, share one copy (and its state).
 */
const snippetsAreSources = {
  name: "snippets-are-sources",
  setup(build) {
    build.onResolve({ filter: /\/snippets\/[^/]+\/js\/[^/]+$/ }, (args) => ({ path: join(root, "js", args.path.split("/").pop()) }));
  },
};
const common = {
  plugins: [snippetsAreSources],
  bundle: true, minify: true, target: "es2020", legalComments: "none", logLevel: "warning",
  // wasm-bindgen's glue lists a snippet module once per import it takes from it.
  logOverride: { "duplicate-object-key": "silent" },
};
// ESM: the dialog becomes a chunk of its own, imported when first shown.
await esbuild.build({
  ...common,
  entryPoints: { threadline: join(root, "js", "index.js") },
  format: "esm",
  splitting: true,
  outdir: dist,
  outExtension: { ".js": ".mjs" },
  chunkNames: "threadline-[name]-[hash]",
});
// Script tag: the dialog is a second script, loaded beside the first when first shown.
await esbuild.build({
  ...common,
  entryPoints: [join(root, "js", "dialog.js")],
  format: "iife",
  globalName: "ThreadlineDialog",
  outfile: join(dist, "threadline-dialog.js"),
});
await esbuild.build({
  ...common,
  entryPoints: [join(root, "js", "script.js")],
  format: "iife",
  globalName: "Threadline",
  outfile: join(dist, "threadline.js"),
});
for (const types of ["index.d.ts", "script.d.ts"]) copyFileSync(join(root, "js", types), join(dist, types));

const sizes = (file) => {
  const bytes = readFileSync(join(dist, file));
  return { raw: statSync(join(dist, file)).size, gzip: gzipSync(bytes, { level: 9 }).length, brotli: brotliCompressSync(bytes).length };
};
const wasm = sizes("threadline_bg.wasm");
const report = (label, js) => {
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`${label}: JS ${kb(js.gzip)} + wasm ${kb(wasm.gzip)} = ${kb(js.gzip + wasm.gzip)} gzipped (${kb(js.brotli + wasm.brotli)} brotli, ${kb(js.raw + wasm.raw)} raw)`);
};
console.log("\nWhat a page downloads:");
report("  ESM (dist/threadline.mjs)  ", sizes("threadline.mjs"));
report("  script tag (dist/threadline.js)", sizes("threadline.js"));
const dialog = sizes("threadline-dialog.js");
console.log(`  and, only when the error dialog or <threadline-debug-id> is first shown: ${(dialog.gzip / 1024).toFixed(1)} KB gzipped`);
