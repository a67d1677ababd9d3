// The published program: dist/src (compiled by tsc) bundled by esbuild into dist/bundle: main.cjs,
// everything but the terminal screens in one CommonJS file, which the launcher compiles with the
// V8 code cache of an earlier run (bin/mathison-install.js says why), and terminal.mjs, the screens
// (Ink, the questions) as an ES module; every runtime library inlined and tree-shaken, so the
// package has no runtime dependencies. Writes the licences of the inlined code to
// THIRD_PARTY_NOTICES.md. `npm pack` runs it (prepack).
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "bundle");
rmSync(outdir, { recursive: true, force: true });

// manifests/ parsed now, with the same code the program runs (src/render/manifests.ts).
const { parseManifests } = await import(join(root, "dist", "src", "render", "manifests.js"));
const manifestsJson = JSON.stringify(Object.fromEntries(parseManifests(join(root, "manifests"))));

const shared = {
  bundle: true,
  platform: "node",
  target: "node22",
  minify: true,
  treeShaking: true,
  metafile: true,
  legalComments: "none",
  define: {
    "process.env.NODE_ENV": '"production"',
    "process.env.DEV": "undefined",
    __MATHISON_MANIFESTS_JSON__: JSON.stringify(manifestsJson),
  },
  logLevel: "warning",
};

/**
 * The program but the terminal screens, one CommonJS file: the launcher compiles it with V8's
 * code cache of an earlier run of the same command (bin/mathison-install.js says why). The
 * screens stay a module of their own, imported when a run takes the terminal.
 */
const core = await build({
  ...shared,
  entryPoints: [join(root, "dist", "src", "cli", "main.js")],
  outfile: join(outdir, "main.cjs"),
  format: "cjs",
  // import.meta is an ES module's; the same URL from the file's own path.
  define: { ...shared.define, "import.meta.url": "__bundleUrl" },
  banner: { js: 'var __bundleUrl=require("node:url").pathToFileURL(__filename).href;' },
  plugins: [
    {
      // The screens are imported by the launcher, which hands the bundle the function that does
      // (a CommonJS file compiled by vm.Script has no import() of its own).
      name: "terminal-from-launcher",
      setup(b) {
        b.onResolve({ filter: /\/ui\/load-terminal\.js$/ }, () => ({ path: "load-terminal", namespace: "launcher" }));
        b.onLoad({ filter: /.*/, namespace: "launcher" }, () => ({
          contents: "export const loadTerminal = () => __loadTerminal();",
          loader: "js",
        }));
      },
    },
  ],
});

/** The terminal screens (Ink, the questions): an ES module, since Ink and yoga use top-level await. */
const terminal = await build({
  ...shared,
  entryPoints: { terminal: join(root, "dist", "src", "ui", "terminal.js") },
  outdir,
  splitting: true,
  format: "esm",
  outExtension: { ".js": ".mjs" },
  // Ink loads its devtools only under DEV=true; the package never ships them.
  external: ["react-devtools-core"],
  // CommonJS libraries call require() for Node's built-ins, which an ES module lacks.
  banner: { js: 'import{createRequire as __cr}from"node:module";const require=__cr(import.meta.url);' },
  entryNames: "[name]",
  // Flat, beside main.cjs: src/base/paths.ts finds the package root above any of them.
  chunkNames: "[name]-[hash]",
});
const result = {
  metafile: {
    inputs: { ...core.metafile.inputs, ...terminal.metafile.inputs },
    outputs: { ...core.metafile.outputs, ...terminal.metafile.outputs },
  },
};

/** The package each inlined file comes from: the directory holding its nearest package.json under node_modules. */
function packageOf(file) {
  const at = file.lastIndexOf("node_modules/");
  if (at < 0) return undefined;
  const rest = file.slice(at + "node_modules/".length).split("/");
  const name = rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  return join(root, file.slice(0, at), "node_modules", name);
}

const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const dir = packageOf(input);
  if (!dir || packages.has(dir)) continue;
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  packages.set(dir, {
    name: pkg.name,
    version: pkg.version,
    license: pkg.license ?? "see its package",
    text: licenceFile ? readFileSync(join(dir, licenceFile), "utf8").trim() : undefined,
  });
}
const sorted = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
const notices = [
  "# Third-party notices",
  "",
  "mathison-install's published program (dist/bundle) includes code from these packages, under their licences.",
  "",
  ...sorted.flatMap((p) => [
    `## ${p.name} ${p.version} (${p.license})`,
    "",
    ...(p.text ? ["```", p.text, "```"] : [`No licence file is shipped with it; its package.json names ${p.license}.`]),
    "",
  ]),
].join("\n");
writeFileSync(join(root, "THIRD_PARTY_NOTICES.md"), notices);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
process.stderr.write(
  `bundle: ${relative(root, outdir)} ${(bytes / 1024).toFixed(0)} KiB in ${Object.keys(result.metafile.outputs).length} files, ${sorted.length} inlined packages\n`,
);
if (!existsSync(join(outdir, "main.cjs"))) throw new Error("no main.cjs in the bundle");
