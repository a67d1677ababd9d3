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
