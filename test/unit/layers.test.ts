// The layers of src/, as docs/architecture.md draws them: each may import its own and those below,
// never one above, and no two files import each other, however indirectly.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

/** Bottom first. */
export const LAYERS = [
  "base",
  "facts",
  "kube",
  "config",
  "render",
  "record",
  "engine",
  "checks",
  "support",
  "pipeline",
  "ui",
  "cli",
] as const;

const SRC = join(PACKAGE_ROOT, "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

/** Each source file (relative to src/, without extension) and the files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const key = relative(SRC, file).replace(/\.tsx?$/, "");
    const text = readFileSync(file, "utf8");
    const deps = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) =>
      relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, ""),
    );
    graph.set(key, deps);
  }
  return graph;
}

const layerOf = (key: string): number => LAYERS.indexOf(key.split("/")[0] as (typeof LAYERS)[number]);

describe("layers", () => {
  const graph = importGraph();

  it("every source file is in a layer", () => {
    const outside = [...graph.keys()].filter((k) => layerOf(k) < 0);
    assert.deepEqual(outside, [], `files outside the layers: ${outside.join(", ")}`);
  });

  it("no import runs upward", () => {
    const upward = [...graph].flatMap(([from, deps]) =>
      deps.filter((to) => layerOf(to) > layerOf(from)).map((to) => `${from} → ${to}`),
    );
    assert.deepEqual(upward, []);
  });

  it("no import cycles", () => {
    // Tarjan's strongly connected components: any with more than one file is a cycle.
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const on = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      idx.set(v, index);
      low.set(v, index++);
      stack.push(v);
      on.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
      if (low.get(v) === idx.get(v)) {
        const component: string[] = [];
        for (let w = stack.pop()!; ; w = stack.pop()!) {
          on.delete(w);
          component.push(w);
          if (w === v) break;
        }
        if (component.length > 1) cycles.push(component);
      }
    };
    for (const v of graph.keys()) if (!idx.has(v)) visit(v);
    assert.deepEqual(cycles, []);
  });
});

// The house's shape (docs/architecture.md): files and functions short enough to read at once.
// Six files may pass 300 lines (the FIELDS table, the client's transport, kubeconfig and
// client, the stage wait, the GitOps render); a seventh is a module that wants splitting.
const LONG_FILES_ALLOWED = 6;
const FILE_LINES = 300;
const FUNCTION_LINES = 80;

/** A declaration's body: the lines from its first to the brace that closes the `{` its signature ends with. */
function functionLengths(text: string): { name: string; line: number; lines: number }[] {
  const lines = text.split("\n");
  const plain = lines.map((l) => l.replace(/"(\\.|[^"\\])*"|'(\\.|[^'\\])*'|`(\\.|[^`\\])*`|\/\/.*$/g, '""'));
  const start =
    /^\s*(?:export\s+)?(?:async\s+)?function\*?\s+(\w+)|^\s*(?:(?:private|protected|public|static|override|async|get|set)\s+)*(\w+)\s*(?:<[^>]*>)?\(|^\s*(?:export\s+)?const\s+(\w+)\s*=\s*(?:async\s*)?\(/;
  const found: { name: string; line: number; lines: number }[] = [];
  plain.forEach((line, i) => {
    const m = start.exec(line);
    const name = m?.[1] ?? m?.[2] ?? m?.[3];
    if (!name || ["if", "for", "while", "switch", "catch", "return", "await", "new", "throw"].includes(name)) return;
    let depth = 0;
    let body = -1;
    for (let j = i; j < Math.min(plain.length, i + 25) && body < 0; j++) {
      for (const ch of plain[j]!) depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
      const t = plain[j]!.trimEnd();
      if (depth <= 0 && t.endsWith("{") && (t.includes(")") || t.includes("=>"))) body = j;
      else if (depth <= 0 && t.endsWith(";")) break;
    }
    if (body < 0) return;
    let braces = 0;
    for (let k = body; k < plain.length; k++) {
      const text = k === body ? plain[k]!.slice(plain[k]!.trimEnd().lastIndexOf("{")) : plain[k]!;
      for (const ch of text) braces += ch === "{" ? 1 : ch === "}" ? -1 : 0;
      if (braces <= 0) {
        found.push({ name, line: i + 1, lines: k - i + 1 });
        return;
      }
    }
  });
  return found;
}

describe("the house's shape", () => {
  it(`at most ${LONG_FILES_ALLOWED} files of src/ over ${FILE_LINES} lines`, () => {
    const long = sources(SRC)
      .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, "utf8").trimEnd().split("\n").length }))
      .filter((f) => f.lines > FILE_LINES)
      .map((f) => `${f.file} (${f.lines})`);
    assert.ok(long.length <= LONG_FILES_ALLOWED, `${long.length} files over ${FILE_LINES} lines: ${long.join(", ")}`);
  });

  it(`no function of src/ over ${FUNCTION_LINES} lines`, () => {
    const long = sources(SRC).flatMap((f) =>
      functionLengths(readFileSync(f, "utf8"))
        .filter((fn) => fn.lines > FUNCTION_LINES)
        .map((fn) => `${relative(SRC, f)}:${fn.line} ${fn.name} (${fn.lines} lines)`),
    );
    assert.deepEqual(long, []);
  });

  it("the measure sees a long function, and where a multi-line signature's body starts", () => {
    const body = Array.from({ length: 85 }, (_, i) => `  const x${i} = ${i};`).join("\n");
    const text = `export async function long(\n  a: { readonly b: string },\n): Promise<void> {\n${body}\n}\nfunction short(): void {\n  return;\n}\n`;
    assert.deepEqual(
      functionLengths(text).map((f) => `${f.name} ${f.line} ${f.lines}`),
      ["long 1 89", "short 90 3"],
    );
  });
});
