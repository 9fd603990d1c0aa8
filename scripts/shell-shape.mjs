// Reports the size of the web shell (src/web/*.rs and js/*.js, without the dialog and the type
// declarations: the lines that are not the native core) and fails if the modules of the crate
// (src/**/*.rs, by `use crate::…`) or of js/ (by relative imports) import each other in a circle.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = (dir, ext) =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return files(path, ext);
    return path.endsWith(ext) ? [path] : [];
  });
const lines = (path) => readFileSync(join(root, path), "utf8").split("\n").length - 1;

const shell = [
  ...files("src/web", ".rs"),
  ...files("js", ".js").filter((p) => !p.endsWith("dialog.js")),
];
let total = 0;
for (const path of shell) total += lines(path);
console.log(`web shell: ${total} lines in ${shell.length} files (src/web/*.rs and js/*.js, without js/dialog.js and the .d.ts files)`);

/** The crate's module of a source file: src/web/driver.rs → web::driver, src/recorder/mod.rs → recorder. */
const moduleOf = (path) =>
  relative("src", path).replace(/\.rs$/, "").replace(/\/mod$/, "").split("/").join("::").replace(/^lib$/, "crate");
const rust = files("src", ".rs");
const known = new Set(rust.map(moduleOf));
const graph = new Map();
for (const path of rust) {
  const from = moduleOf(path);
  const text = readFileSync(join(root, path), "utf8").replace(/#\[cfg\(test\)\][\s\S]*$/, "");
  const to = new Set();
  for (const [, body] of text.matchAll(/use crate::([^;]+);/g)) {
    // `use crate::a::b::{c, d}` and `use crate::{a::b, c}`: each path, to the longest known module.
    const paths = [];
    const expand = (prefix, rest) => {
      const brace = rest.indexOf("{");
      if (brace < 0) return paths.push(prefix + rest.trim());
      const head = rest.slice(0, brace);
      let depth = 0;
      let part = "";
      for (const ch of rest.slice(brace + 1, rest.lastIndexOf("}"))) {
        if (ch === "{") depth++;
        if (ch === "}") depth--;
        if (ch === "," && depth === 0) {
          expand(prefix + head, part);
          part = "";
        } else part += ch;
      }
      if (part.trim()) expand(prefix + head, part);
    };
    expand("", body.replace(/\s+/g, ""));
    for (const p of paths) {
      const segments = p.split("::");
      for (let n = segments.length; n > 0; n--) {
        const candidate = segments.slice(0, n).join("::");
        if (known.has(candidate)) {
          if (candidate !== from && !from.startsWith(`${candidate}::`) && !candidate.startsWith(`${from}::`)) to.add(candidate);
          break;
        }
      }
    }
  }
  graph.set(from, to);
}
for (const path of files("js", ".js")) {
  const text = readFileSync(join(root, path), "utf8");
  const to = new Set();
  for (const [, spec] of text.matchAll(/(?:import|export)[^"']*from\s*["'](\.[^"']+)["']/g)) {
    to.add(join(dirname(path), spec));
  }
  graph.set(path, to);
}

/** A cycle in the graph, as the list of its nodes, or null. */
function findCycle() {
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}
const cycle = findCycle();
if (cycle) {
  console.error(`import circle: ${cycle.join(" → ")}`);
  process.exit(1);
}
console.log(`no import circle among ${graph.size} modules (the crate's and js/)`);
