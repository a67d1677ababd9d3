#!/usr/bin/env node
// Follows docs/testing.md's "How to add…" recipes as written, in a scratch copy of this checkout:
// a throw-away setting, preflight check and stage, each added one step at a time. After each
// partial step it checks that the code or a test refuses the half-done change, naming what is
// missing (nothing can be forgotten silently); after the last step, that the tests pass and the
// new thing works through the program itself. Run by scripts/test.sh; about a minute.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const work = mkdtempSync(join(tmpdir(), "mathison-recipes-"));
let failures = 0;

function copyCheckout() {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(work, f)), { recursive: true });
    try {
      copyFileSync(join(root, f), join(work, f));
    } catch {
      // A file deleted in the working tree but still tracked: the copy is of what is there.
    }
  }
  symlinkSync(join(root, "node_modules"), join(work, "node_modules"));
}

/** Inserts `text` after (or before) `anchor` in `file`; an anchor the code no longer has stops the run. */
function edit(file, anchor, text, where = "after") {
  const path = join(work, file);
  const s = readFileSync(path, "utf8");
  if (!s.includes(anchor)) throw new Error(`${file}: the recipe's anchor is gone: ${anchor}`);
  writeFileSync(path, s.replace(anchor, where === "after" ? anchor + text : text + anchor));
}

function run(command, args) {
  const r = spawnSync(command, args, { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const build = () => run(join(work, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"]);
const unit = (name) => run(process.execPath, ["--test", "--test-reporter=spec", `dist/test/unit/${name}.test.js`]);
const cli = (...args) => run(process.execPath, ["bin/mathison-install.js", ...args]);

function expect(step, result, ok, says) {
  const passed = ok ? result.code === 0 : result.code !== 0;
  const saying = says ? says.test(result.out) : true;
  const verdict = passed && saying ? "ok  " : "FAIL";
  if (verdict === "FAIL") failures++;
  console.log(`${verdict} ${step}`);
  if (verdict === "FAIL") console.log(result.out.split("\n").slice(-40).join("\n"));
}

function aSetting() {
  console.log("== a setting: MATHISON_BANNER, a line the web UI shows (--web-banner)");
  edit("src/config/fields.ts", '  "baseDomain",\n', '  "webBanner",\n');
  edit(
    "src/config/fields.ts",
    '  {\n    key: "webReplicas",',
    `  {
    key: "webBanner",
    allowed: "a line of at most 80 printable characters",
    shownDefault: "none",
    flag: "--web-banner",
    env: "MATHISON_WEB_BANNER",
    secret: false,
    default: "",
    describe: "a line the web UI shows above every page",
    validate: (v) => (/^[ -~]{0,80}$/.test(v) ? undefined : "a line of at most 80 printable characters"),
  },
`,
    "before",
  );
  expect("the FIELDS row builds", build(), true);
  expect(
    "a row with no sample value: 'every setting does something' names it",
    unit("render"),
    false,
    /--web-banner: add a sample/,
  );
  edit(
    "test/unit/render.test.ts",
    '    baseDomain: { baseDomain: "apps.example.org" },\n',
    '    webBanner: { webBanner: "maintenance at 6" },\n',
  );
  build();
  expect("a row that renders nothing different: the same test names it", unit("render"), false, /web-banner|webBanner/);
  edit("src/config/types.ts", "  readonly baseDomain: string;\n", "  readonly webBanner: string;\n");
  edit(
    "src/config/resolve.ts",
    '    baseDomain: get("baseDomain") ?? domain,\n',
    '    webBanner: get("webBanner") ?? "",\n',
  );
  edit(
    "src/render/customise.ts",
    "        MATHISON_BASE_DOMAIN: config.baseDomain,\n",
    "        MATHISON_BANNER: config.webBanner,\n",
  );
  expect("used in render: it builds", build(), true);
  expect("used in render: every setting does something", unit("render"), true);
  expect("docs/settings.md lags the code: the docs contract says so", unit("docs-contract"), false, /settings\.md/);
  expect("npm run docs rewrites the pages", run(process.execPath, ["scripts/docs.mjs"]), true);
  expect("the docs contract holds again", unit("docs-contract"), true);
  expect("--help and the parser agree on the new flag", unit("help-flags"), true);
  expect("install --help lists it", cli("install", "--help"), true, /--web-banner/);
  const rendered = cli("render", "--domain", "m.example", "--web-banner", "maintenance at 6");
  expect("render puts it in the ConfigMap", rendered, true, /MATHISON_BANNER: maintenance at 6/);
  expect(
    "a bad value: one line naming the flag and what is allowed, exit 2",
    cli("render", "--domain", "m.example", "--web-banner", "é".repeat(3)),
    false,
    /--web-banner.*a line of at most 80 printable characters/,
  );
}

function aCheck() {
  console.log("== a check: PriorityClasses (preflight)");
  writeFileSync(
    join(work, "src/checks/preflight/priority.ts"),
    `import type { CheckResult } from "../types.js";
import type { PreflightCheck } from "./context.js";

export const priorityCheck: PreflightCheck = {
  id: "priority",
  group: "Capacity",
  title: "PriorityClass",
  needs: ["cluster"],
  async run(ctx): Promise<CheckResult> {
    const name = ctx.config.placement?.priorityClassName;
    if (!name) return { status: "pass", message: "no PriorityClass asked for" };
    const found = await ctx.kube.get({ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", name });
    return found
      ? { status: "pass", message: \`PriorityClass \${name} exists\` }
      : { status: "fail", message: \`PriorityClass \${name} does not exist\`, hint: "kubectl get priorityclass lists them" };
  },
};
`,
  );
  edit(
    "src/checks/preflight/index.ts",
    'import { registryCheck } from "./registry.js";\n',
    'import { priorityCheck } from "./priority.js";\n',
  );
  edit("src/checks/preflight/index.ts", "  ...EXTERNAL_CHECKS,\n];", "  priorityCheck,\n", "before");
  expect("a preflight check that does not declare its reads: the compiler refuses it", build(), false, /reads/);
  edit(
    "src/checks/preflight/priority.ts",
    '  needs: ["cluster"],\n',
    '  reads: () => [{ verb: "get", resource: "priorityclasses", group: "scheduling.k8s.io" }],\n',
  );
  expect("with its reads it builds", build(), true);
  expect("a check with no fault in the table: the fault test names it", unit("fake-cluster"), false, /priority/);
  edit(
    "test/unit/fake-cluster.test.ts",
    '    ["registry", () => undefined, { imagePullSecret: "regcred" }, "fail"],\n',
    '    ["priority", () => undefined, { priorityClassName: "urgent" }, "fail"],\n',
  );
  build();
  expect("with its fault: passes on a healthy cluster, fails on its fault, with a hint", unit("fake-cluster"), true);
  expect("the preflight tests count it from the registry", unit("preflight"), true);
}

function aStage() {
  console.log("== a stage's object: a PodTemplate in the edge stage");
  writeFileSync(
    join(work, "manifests/12-podtemplate.yaml"),
    `apiVersion: v1
kind: PodTemplate
metadata:
  name: mathison-debug
  namespace: mathison-system
  labels: {app.kubernetes.io/part-of: mathison}
template:
  metadata: {labels: {app.kubernetes.io/name: mathison-debug}}
  spec:
    containers: [{name: shell, image: busybox:1.37}]
`,
  );
  edit("src/render/stages.ts", '"11-pdb.yaml"', ', "12-podtemplate.yaml"');
  expect("it builds", build(), true);
  expect(
    "a kind with no resource row: the permissions derived from the plan say where to add it",
    unit("preflight"),
    false,
    /no API resource known for kind PodTemplate: add it to src\/facts\/resources\.ts/,
  );
  edit(
    "src/facts/resources.ts",
    '        ["v1", "Event", "events", NAMESPACED],\n',
    '        ["v1", "PodTemplate", "podtemplates", NAMESPACED],\n',
  );
  build();
  expect("with its resource row the preflight tests pass", unit("preflight"), true);
  expect(
    "a kind with no uninstall group: the removal test names it",
    unit("lifecycle"),
    false,
    /PodTemplate: add it to uninstall's GROUPS/,
  );
  edit("src/pipeline/removal-plan.ts", '"NetworkPolicy", "PodDisruptionBudget"', ', "PodTemplate"');
  build();
  expect("in a group, uninstall deletes it with its stage", unit("lifecycle"), true);
  expect(
    "render shows it in its stage, in its namespace",
    cli("render", "--domain", "m.example", "--namespace", "shop"),
    true,
    /kind: PodTemplate\n(?:.*\n)*? {2}namespace: shop/,
  );
}

try {
  copyCheckout();
  expect("the copy builds as it is", build(), true);
  aSetting();
  aCheck();
  aStage();
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures > 0) {
  console.log(`recipes: ${failures} step(s) did not go as docs/testing.md says`);
  process.exit(1);
}
console.log("recipes: every step of docs/testing.md's recipes went as it says");
