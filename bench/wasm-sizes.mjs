// Lists where a wasm file's code bytes go, by function, from its name section (the file
// wasm-bindgen writes, before `wasm-opt` strips the names): `node bench/wasm-sizes.mjs
// build/pkg-propagate/threadline_bg.wasm [top] [group-depth]`. Prints the largest functions, then
// the code per crate or module path (first `group-depth` segments of the demangled-ish name).
import { readFileSync } from "node:fs";

const [file, top = "40", depth = "2"] = process.argv.slice(2);
const bytes = readFileSync(file);
let at = 8;
const leb = () => {
  let n = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return n;
  }
};
const name = () => {
  const len = leb();
  const text = bytes.subarray(at, at + len).toString("utf8");
  at += len;
  return text;
};
let imported = 0;
const sizes = [];
const names = new Map();
const sections = {};
while (at < bytes.length) {
  const id = bytes[at++];
  const size = leb();
  const end = at + size;
  if (id === 0) {
    const title = name();
    sections[`custom ${title}`] = size;
    if (title === "name") {
      while (at < end) {
        const sub = bytes[at++];
        const subSize = leb();
        const subEnd = at + subSize;
        if (sub === 1) for (let n = leb(); n > 0; n--) names.set(leb(), name());
        at = subEnd;
      }
    }
  } else {
    sections[id] = size;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        name();
        name();
        const kind = bytes[at++];
        if (kind === 0) imported++, leb();
        else if (kind === 1) at += 1, bytes[at++] ? (leb(), leb()) : leb();
        else if (kind === 2) bytes[at++] ? (leb(), leb()) : leb();
        else at += 2;
      }
    }
    if (id === 10) {
      for (let n = leb(), i = 0; i < n; i++) {
        const body = leb();
        sizes.push([imported + i, body]);
        at += body;
      }
    }
  }
  at = end;
}
const label = (index) => names.get(index) || `func[${index}]`;
const total = sizes.reduce((s, [, n]) => s + n, 0);
console.log(`${file}: ${bytes.length} bytes; code ${total} bytes in ${sizes.length} functions; data ${sections[11] || 0} bytes`);
for (const [index, n] of [...sizes].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${String(n).padStart(7)}  ${(100 * n / total).toFixed(1).padStart(5)}%  ${label(index).slice(0, 110)}`);
}
const groups = new Map();
for (const [index, n] of sizes) {
  const path = label(index).replace(/^<|^_ZN|[<>]/g, "").split("::").slice(0, Number(depth)).join("::");
  groups.set(path, (groups.get(path) || 0) + n);
}
console.log("\nBy path:");
for (const [path, n] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${String(n).padStart(7)}  ${(100 * n / total).toFixed(1).padStart(5)}%  ${path.slice(0, 110)}`);
}
