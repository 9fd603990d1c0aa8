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

/**
 * The two wasm builds: the full recorder, and the propagation-only one (`threadline/propagate`),
 * the same crate without the `events` feature.
 */
const variants = [
  { name: "threadline", pkg, features: [] },
  { name: "threadline-propagate", pkg: join(root, "build", "pkg-propagate"), features: ["--no-default-features", "--features", "panic-trap"] },
];
for (const variant of variants) {
  run("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "--lib", ...variant.features]);
  rmSync(variant.pkg, { recursive: true, force: true });
  run("wasm-bindgen", [
    "target/wasm32-unknown-unknown/release/threadline.wasm",
    "--target", "web", "--out-dir", variant.pkg, "--out-name", "threadline", "--no-typescript",
    // Every supported browser has TextEncoder.encodeInto; the wasm URL is always passed in.
    "--encode-into", "always", "--omit-default-module-path",
  ]);
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const wasmOpt = (args) => execFileSync(join(root, "node_modules", ".bin", "wasm-opt"), args, { cwd: root, encoding: "utf8" });
for (const variant of variants) {
  // -Oz repeated until the file stops shrinking, then once more with the names shortened, once:
  // 0.16 KB gzipped less than one -Oz. The intermediate file keeps its names (-g), so that
  // bench/profile-log.mjs can profile the shipped code with them (the same last step with -g).
  const optimised = join(variant.pkg, "threadline_opt.wasm");
  wasmOpt(["-Oz", "--converge", "-g", join(variant.pkg, "threadline_bg.wasm"), "-o", optimised]);
  const mapping = wasmOpt([
    "-Oz", "--strip-producers", "--strip-target-features", "--minify-imports-and-exports-and-modules",
    optimised, "-o", join(dist, `${variant.name}_bg.wasm`),
  ]);
  const gluePath = join(variant.pkg, "threadline.js");
  writeFileSync(gluePath, applyShortNames(readFileSync(gluePath, "utf8"), parseMapping(mapping)));
}

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
/**
 * An ESM entry (the dialog a chunk of its own, imported when first shown) and a script-tag
 * entry defining `window.Threadline` (the dialog a second script, loaded beside it when first
 * shown), both named `name`.
 */
async function buildEntries(name, esmEntry, scriptEntry, plugins = []) {
  await esbuild.build({
    ...common,
    plugins: [...plugins, ...common.plugins],
    entryPoints: { [name]: join(root, "js", esmEntry) },
    format: "esm",
    splitting: true,
    outdir: dist,
    outExtension: { ".js": ".mjs" },
    chunkNames: "threadline-[name]-[hash]",
  });
  await esbuild.build({
    ...common,
    plugins: [...plugins, ...common.plugins],
    entryPoints: [join(root, "js", scriptEntry)],
    format: "iife",
    globalName: "Threadline",
    outfile: join(dist, `${name}.js`),
  });
}
await buildEntries("threadline", "index.js", "script.js");
// The propagation-only entries: the same loader, pointed at the wasm built without events, and
// with `log` only checking its level (log-level.js for log-entry.js).
const propagateGlue = {
  name: "propagate-glue",
  setup(build) {
    build.onResolve({ filter: /\/build\/pkg\/threadline\.js$/ }, () => ({ path: join(variants[1].pkg, "threadline.js") }));
    build.onResolve({ filter: /\/log-entry\.js$/ }, () => ({ path: join(root, "js", "log-level.js") }));
  },
};
await buildEntries("threadline-propagate", "propagate.js", "propagate-script.js", [propagateGlue]);
await esbuild.build({
  ...common,
  entryPoints: [join(root, "js", "dialog.js")],
  format: "iife",
  globalName: "ThreadlineDialog",
  outfile: join(dist, "threadline-dialog.js"),
});
for (const types of ["index.d.ts", "script.d.ts", "propagate.d.ts"]) copyFileSync(join(root, "js", types), join(dist, types));

const sizes = (file) => {
  const bytes = readFileSync(join(dist, file));
  return { raw: statSync(join(dist, file)).size, gzip: gzipSync(bytes, { level: 9 }).length, brotli: brotliCompressSync(bytes).length };
};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const report = (label, js, wasm) => {
  console.log(`${label}: JS ${kb(js.gzip)} + wasm ${kb(wasm.gzip)} = ${kb(js.gzip + wasm.gzip)} gzipped (${kb(js.brotli + wasm.brotli)} brotli, ${kb(js.raw + wasm.raw)} raw)`);
};
const wasm = sizes("threadline_bg.wasm");
const propagateWasm = sizes("threadline-propagate_bg.wasm");
console.log("\nWhat a page downloads:");
report("  ESM (dist/threadline.mjs)  ", sizes("threadline.mjs"), wasm);
report("  script tag (dist/threadline.js)", sizes("threadline.js"), wasm);
report("  propagation only, ESM (dist/threadline-propagate.mjs)", sizes("threadline-propagate.mjs"), propagateWasm);
report("  propagation only, script tag (dist/threadline-propagate.js)", sizes("threadline-propagate.js"), propagateWasm);
const dialog = sizes("threadline-dialog.js");
console.log(`  and, only when the error dialog or <threadline-debug-id> is first shown: ${kb(dialog.gzip)} gzipped`);
