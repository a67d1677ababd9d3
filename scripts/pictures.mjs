// The README's pictures of the wizard and of the live progress screen, taken from the real
// program in a real 80x24 terminal (tmux) against the test cluster, so they cannot drift from it.
//
//   node scripts/pictures.mjs KUBECONFIG            writes docs/pictures/*.txt and the README's copies
//   node scripts/pictures.mjs KUBECONFIG --check    fails if a line of the README's pictures is one
//                                                   the program no longer shows (digits aside)
//
// Needs `npm run build` (it drives dist/) and tmux. scripts/pictures.sh brings up the cluster.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { Terminal } = await import(join(root, "dist/test/helpers/terminal.js"));
const [kubeconfig, mode] = process.argv.slice(2);
if (!kubeconfig) {
  console.error("usage: node scripts/pictures.mjs KUBECONFIG [--check]");
  process.exit(2);
}
const namespace = "mathison-pictures";
const kubectl = (...args) => {
  try {
    execFileSync(process.env.KUBECTL ?? "kubectl", ["--kubeconfig", kubeconfig, ...args], { stdio: "ignore" });
  } catch {
    // Best effort: a namespace that is not there is fine.
  }
};
const { clusterScopedName } = await import(join(root, "dist/src/render/customise.js"));
/** Everything an earlier picture left, the cluster-scoped RBAC too: each picture is of a first install. */
const tidy = (wait) => {
  kubectl("delete", "clusterrole,clusterrolebinding", clusterScopedName(namespace), "--ignore-not-found");
  kubectl("delete", "namespace", namespace, `--wait=${wait}`, "--ignore-not-found");
};
const seen = new Set();
const keep = (screen) => {
  for (const line of screen.split("\n")) seen.add(normalise(line));
  return screen;
};
/** One install in a fresh 80x24 terminal: the pictures it shows, every screen's lines kept in `seen`. */
async function onePicture() {
  tidy(true);
  const t = new Terminal(
    `node ${join(root, "bin/mathison-install.js")} install --namespace ${namespace} --tag 2.1.0 --skip-verify`,
    { KUBECONFIG: kubeconfig, ANTHROPIC_API_KEY: "sk-ant-picture" },
  );
  try {
    return await takePictures(t);
  } finally {
    t.close();
    tidy(false);
  }
}

let pictures = await onePicture();
// A live screen's moments are brief: a check that misses one takes the pictures again (up to three
// runs in all) before it says the README shows a line the program no longer shows.
const stale = () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  return Object.keys(pictures).flatMap((name) =>
    block(readme, name)
      .split("\n")
      .filter((line) => !seen.has(normalise(line))),
  );
};
for (let run = 2; mode === "--check" && run <= 3 && stale().length > 0; run++) pictures = await onePicture();

if (mode === "--check") {
  const lines = stale();
  if (lines.length > 0) {
    console.error(`README pictures show lines the program no longer shows:\n${lines.join("\n")}`);
    process.exit(1);
  }
  console.log("README pictures match the program");
} else {
  mkdirSync(join(root, "docs/pictures"), { recursive: true });
  let readme = readFileSync(join(root, "README.md"), "utf8");
  for (const [name, screen] of Object.entries(pictures)) {
    writeFileSync(join(root, "docs/pictures", `${name}.txt`), `${screen}\n`);
    readme = readme.replace(blockPattern(name), (_, open, close) => `${open}\n${screen}\n${close}`);
  }
  writeFileSync(join(root, "README.md"), readme);
  console.log(`wrote docs/pictures/{${Object.keys(pictures).join(",")}}.txt and the README's copies`);
}

/** Answers the wizard's questions with their defaults, as a person pressing Enter would. */
async function takePictures(t) {
  const wizard = await answerUntilConfirm(t);
  t.send("Enter");
  // The screen while the database stage waits: taken as soon as a stage waits on its objects.
  const progress = trim(keep(await t.waitFor(/waiting on \d+/, 60_000, () => keep(t.screen()), 10)));
  // Every screen to the end: what the run shows at all.
  await t.waitFor(
    /\[exit \d+\]/,
    60_000,
    () => {
      keep(t.screen());
      return t.history();
    },
    10,
  );
  const code = await t.exitCode();
  if (code !== 0) throw new Error(`the install exited ${code}:\n${t.history()}`);
  return { wizard, progress };
}

/** Each question answered as a person trying it would: a domain typed, plain HTTP, every other default. */
async function answerUntilConfirm(t) {
  let answered = "";
  for (let i = 0; i < 40; i++) {
    const screen = keep(t.screen());
    const asking = screen
      .split("\n")
      .filter((l) => l.startsWith("? "))
      .at(-1);
    if (asking?.startsWith("? Install?")) return trim(screen);
    if (!asking || asking === answered) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    answered = asking;
    if (asking.startsWith("? Domain of the web UI")) t.type("chat.example.com");
    if (asking.startsWith("? TLS for the web UI")) t.send("Down");
    t.send("Enter");
    await t.waitFor(/./, 1_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the wizard never asked to confirm:\n${t.screen()}`);
}

function trim(screen) {
  return screen.replace(/\s+$/, "");
}

/**
 * What varies from run to run: hashes (Job names), ports, durations, clock times, how far a wait
 * is, the spinner's frame, and an object row's live status (what the controller is doing at that
 * instant). A line is the same without them; every other number (how many checks passed, how
 * many objects the plan creates) must match.
 */
function normalise(line) {
  return line
    .replace(/\b[0-9a-f]{10}\b/g, "#")
    .replace(/\b\d{1,2}:\d{2}(:\d{2})?\b/g, "#:#")
    .replace(/:\d{2,5}\b/g, ":#")
    .replace(/\b\d+(\.\d+)? ?(ms|s|m)\b/g, "# $2")
    .replace(/waiting on \d+ \[\d+\/\d+ done\]/g, "waiting on # [#/# done]")
    .replace(/[\u2800-\u28ff]/g, "⠿")
    .replace(/^( \S+\/\S+ +(?:created|configured|unchanged|deleted|replaced))\b.*$/, "$1")
    .trimEnd();
}

function blockPattern(name) {
  return new RegExp(
    `(<!-- picture:${name} -->\\n\`\`\`text)\\n(?:(?:(?!\`\`\`)[\\s\\S])*?\\n)?(\`\`\`\\n<!-- /picture -->)`,
  );
}

function block(readme, name) {
  const m = blockPattern(name).exec(readme);
  if (!m) throw new Error(`README has no picture:${name} block`);
  return m[0].split("\n").slice(2, -2).join("\n");
}
