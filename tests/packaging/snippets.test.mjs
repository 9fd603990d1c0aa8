// Every JavaScript and TypeScript snippet of the README, and every inline <script> of its HTML
// snippets, compiled with `tsc --strict` against the types in the packed tarball, as a user's
// project would see them.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { packTarball, removeTarball, repo } from "./install.mjs";

const run = promisify(execFile);

/**
 * What the snippets use without defining: the app's own names, and the smallest shapes of React,
 * Express, pino and the OpenTelemetry classes that the snippets call. Threadline's types
 * (`threadline`, `threadline/script`, `threadline/node`) come from the package, never from here.
 */
const AMBIENT = `
declare const body: BodyInit;
declare function checkout(): Promise<void>;
declare const tl: import("threadline").Recorder;
interface ExpressRequest { get(name: string): string | undefined; correlationId?: string }
interface ExpressResponse { set(name: string, value: string): void }
declare const app: { use(handler: (req: ExpressRequest, res: ExpressResponse, next: () => void) => void): void };
declare module "react" {
  export function useEffect(effect: () => void | (() => void), deps?: unknown[]): void;
}
declare module "express" {
  interface Request { correlationId?: string; sessionId?: string }
  interface Response { json(body: unknown): void }
  export default function express(): {
    use(handler: (req: any, res: any, next: (err?: unknown) => void) => void): void;
    post(path: string, handler: (req: Request, res: Response) => unknown): void;
  };
}
declare module "pino" {
  export default function pino(options?: { mixin?: () => Record<string, string> }): { info(message: string): void };
}
declare const paymentsUrl: string;
declare const queue: { add(job: unknown): void };
declare const db: { query(sql: string): Promise<unknown> };
declare const exporting: unknown;
declare class NodeTracerProvider { constructor(options: { spanProcessors: unknown[] }); register(options: { propagator: unknown }): void }
declare class BaggageSpanProcessor { constructor(keep: (key: string) => boolean) }
declare class CompositePropagator { constructor(options: { propagators: unknown[] }) }
declare class W3CTraceContextPropagator {}
declare class W3CBaggagePropagator {}
`;

/** The README's code blocks as `{ lang, code, line }`, with inline scripts pulled out of HTML. */
function snippets(readme) {
  const found = [];
  const fence = /^```(\w+)\n([\s\S]*?)^```/gm;
  for (const match of readme.matchAll(fence)) {
    const [, lang, code] = match;
    const line = readme.slice(0, match.index).split("\n").length;
    if (["js", "ts"].includes(lang)) found.push({ lang, code, line });
    if (lang === "html") {
      for (const script of code.matchAll(/<script>([\s\S]*?)<\/script>/g)) {
        found.push({ lang: "html", code: `/// <reference types="threadline/script" />\n${script[1]}`, line });
      }
    }
  }
  return found;
}

test("every README snippet type-checks under tsc --strict against the packed types, as a bundler and as Node resolve them", { timeout: 120_000 }, async () => {
  const found = snippets(readFileSync(join(repo, "README.md"), "utf8"));
  assert.ok(found.length >= 7, `README snippets found: ${found.length}`);
  assert.ok(found.some((s) => s.lang === "html"), "an inline script of the script-tag snippet");
  const project = mkdtempSync(join(tmpdir(), "threadline-snippets-"));
  try {
    const installed = join(project, "node_modules", "threadline");
    mkdirSync(installed, { recursive: true });
    const tarball = await packTarball();
    await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
    removeTarball(tarball);
    writeFileSync(join(project, "ambient.d.ts"), AMBIENT);
    const files = found.map((snippet, i) => {
      const name = `readme-line-${snippet.line}-${i}.ts`;
      // Each snippet is a module of its own, so top-level await works and names do not clash.
      writeFileSync(join(project, name), `${snippet.code}\nexport {};\n`);
      return name;
    });
    // An ESM project, as both a bundler's and Node's resolution see it.
    writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
    for (const [module, moduleResolution] of [["esnext", "bundler"], ["node16", "node16"]]) {
      writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, target: "es2022", module, moduleResolution,
          lib: ["es2022", "dom"], types: ["node"], typeRoots: [join(repo, "node_modules", "@types")],
        },
        files: ["ambient.d.ts", ...files],
      }));
      const result = await run(process.execPath, [tsc, "-p", project], { cwd: project }).then(
        () => "",
        (error) => `${error.stdout}${error.stderr}`,
      );
      assert.equal(result, "", `tsc --strict (moduleResolution ${moduleResolution}) reports no error`);
    }
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
