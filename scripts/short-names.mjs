// Shortens the wasm module's import and export names, and rewrites wasm-bindgen's JS glue to
// match. wasm-bindgen names every import `__wbg_<name>_<16 hex digits>`; the random hex neither
// compresses nor minifies, and each name sits in both files. binaryen renames them (`--minify-
// imports-and-exports-and-modules`, all imports into module "a") and prints the mapping; this
// applies that mapping to the glue. Tied to the glue's shape of the pinned wasm-bindgen version:
// it fails loudly, rather than producing a broken build, if that shape changes.

/** Rewrites `glue` (wasm-bindgen's --target web JS) for binaryen's `mapping` (its JSON output). */
export function applyShortNames(glue, mapping) {
  let out = glue;
  const fail = (what) => {
    throw new Error(`short-names: ${what}; has the wasm-bindgen glue changed shape?`);
  };

  for (const [old, short] of mapping.exports) {
    const pattern = new RegExp(`\\bwasm\\.${old}\\b`, "g");
    out = out.replace(pattern, `wasm.${short}`);
  }

  const ret = /return \{\n\s*__proto__: null,\n((?:\s*"[^"]+": import\d+,\n)+)\s*\};\n\}/.exec(out);
  if (!ret) fail("no import object");
  const moduleVar = new Map();
  for (const [, path, name] of ret[1].matchAll(/"([^"]+)": (import\d+),/g)) moduleVar.set(path, name);
  const own = moduleVar.get("./threadline_bg.js");
  if (!own) fail("no ./threadline_bg.js imports");

  const snippets = [];
  for (const [module, name, short] of mapping.imports) {
    if (module === "./threadline_bg.js") {
      const key = new RegExp(`(\\n\\s*)${name}: function`);
      if (!key.test(out)) fail(`import ${name} not found`);
      out = out.replace(key, `$1${JSON.stringify(short)}: function`);
    } else {
      const variable = moduleVar.get(module);
      if (!variable) fail(`module ${module} not found`);
      snippets.push(`${JSON.stringify(short)}: ${variable}.${name}`);
    }
  }
  return out.replace(ret[0], `return { __proto__: null, a: Object.assign(${own}, { ${snippets.join(", ")} }) };\n}`);
}

/** Parses binaryen's mapping printout (JSON, possibly after other output). */
export function parseMapping(text) {
  const start = text.indexOf("{");
  if (start < 0) throw new Error("short-names: binaryen printed no mapping");
  return JSON.parse(text.slice(start));
}
