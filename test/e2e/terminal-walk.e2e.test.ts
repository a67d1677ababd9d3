// Every command in a real terminal (tmux) at 80×24 and 60×20, each frame read as it is drawn:
// no word may be broken across two lines. What the program meant to print is read from the same
// walk in a terminal wide enough that nothing wraps; a line end is a broken word when the two
// halves joined make a word of that text and the first half alone is none.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ingressControllerStandIn, testCluster, uniqueNamespace, type TestCluster } from "../helpers/cluster.js";
import { tidy } from "../helpers/install.js";
import { Terminal, tmuxMissing } from "../helpers/terminal.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { cluster, skip: noCluster } = testCluster();
const skip = noCluster || tmuxMissing();
const bin = `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")}`;

interface Size {
  readonly cols: number;
  readonly rows: number;
}
const WIDE: Size = { cols: 400, rows: 60 };
const SIZES: readonly Size[] = [
  { cols: 80, rows: 24 },
  { cols: 60, rows: 20 },
];

/** One step of the walk: the command's arguments (NS is the namespace, DIR a directory of its own), and what to type. */
interface Step {
  readonly name: string;
  readonly args: string;
  /** Typed when the screen shows the pattern. */
  readonly answers?: readonly (readonly [RegExp, (t: Terminal, ns: string) => void])[];
  readonly env?: Readonly<Record<string, string>>;
  /** Answers every question the program asks, each once: the domain typed, every other one its default. */
  readonly askAll?: boolean;
}

const confirmEnter = [/\? (Install|Apply these changes)\?/, (t: Terminal) => t.send("Enter")] as const;
const typeNamespace = [
  /\? Type \S+ to (delete|replace)/,
  (t: Terminal, ns: string) => {
    t.type(ns);
    t.send("Enter");
  },
] as const;

/** Every question answered by a flag (or the environment, below): the confirm is what remains. */
const EVERY_ANSWER =
  "--domain NS.example.com --ingress-class nginx --tls none --web-image mathison-web --worker-image mathison-worker --base-domain apps.example.com --postgres-url '' --redis-url ''";

const STEPS: readonly Step[] = [
  { name: "help", args: "--help" },
  { name: "install --help", args: "install --help" },
  { name: "restore --help", args: "restore --help" },
  { name: "a flag misspelt", args: "install --namspace NS" },
  { name: "no kubeconfig", args: "status --namespace NS", env: { KUBECONFIG: "/nonexistent/kubeconfig" } },
  {
    name: "install, confirmed in the terminal",
    args: `install --namespace NS ${EVERY_ANSWER} --tag 1.0.0`,
    answers: [confirmEnter],
  },
  { name: "status", args: "status --namespace NS" },
  { name: "verify", args: "verify --namespace NS" },
  { name: "backup", args: "backup --namespace NS --out DIR/walk.dump" },
  { name: "restore", args: "restore DIR/walk.dump --namespace NS", answers: [typeNamespace] },
  {
    name: "upgrade",
    args: `install --namespace NS ${EVERY_ANSWER} --tag 1.1.0 --no-backup`,
    answers: [[/\? Change other settings\?/, (t: Terminal) => t.send("Enter")], confirmEnter],
  },
  { name: "uninstall", args: "uninstall --namespace NS", answers: [typeNamespace] },
  // The wizard's own questions, at the terminal's width: a first install given nothing but its namespace.
  { name: "install, every question asked", args: "install --namespace NS-asked", askAll: true },
];

/** The question the screen asks now (its first line), if any. */
function openQuestion(screen: string): string | undefined {
  return screen
    .split("\n")
    .filter((l) => /^\? \S/.test(l))
    .at(-1);
}

/** Answers the question on the screen unless it was answered already; the question answered. */
function answerOpen(t: Terminal, screen: string, ns: string, last: string | undefined): string | undefined {
  const q = openQuestion(screen);
  if (q === undefined || q === last) return last;
  if (/^\? Domain of the web UI/.test(q)) t.type(`${ns}.example.com`);
  t.send("Enter");
  return q;
}

/** Runs one step to its end, reading the screen every 50 ms; every distinct frame and the whole history. */
async function framesOf(c: TestCluster, step: Step, ns: string, dir: string, size: Size): Promise<string[]> {
  const args = step.args.replaceAll("DIR", dir).replaceAll("NS", ns);
  const t = new Terminal(
    `${bin} ${args}`,
    {
      KUBECONFIG: c.kubeconfig,
      PATH: process.env["PATH"] ?? "",
      ANTHROPIC_API_KEY: "sk-ant-walk",
      MATHISON_AUTH_SECRET: "a".repeat(44),
      MATHISON_POSTGRES_PASSWORD: "p".repeat(32),
      ...step.env,
    },
    size,
  );
  const frames = new Set<string>();
  const pending = [...(step.answers ?? [])];
  let answered: string | undefined;
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const screen = t.screen();
      frames.add(screen);
      const next = pending[0];
      if (next?.[0].test(screen)) {
        pending.shift();
        next[1](t, ns);
      }
      if (step.askAll) answered = answerOpen(t, screen, ns, answered);
      if (/\[exit \d+\]/.test(t.history())) break;
      if (Date.now() > deadline) assert.fail(`${step.name} did not end:\n${t.history()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    frames.add(t.history());
    return [...frames].map((f) => f.replaceAll(ns, "NS").replaceAll(dir, "DIR"));
  } finally {
    t.close();
  }
}

/** A token as a word: without the punctuation around it. */
function word(token: string): string {
  return token.replace(/^[("'`[{<]+|[)"'`\]}>.,:;!?]+$/g, "");
}

function wordsOf(text: string): Set<string> {
  return new Set(text.split(/\s+/).map(word).filter(Boolean));
}

/** Line ends in `frame` that break a word of `meant`: "faile" / "d". */
export function brokenWords(frame: string, meant: ReadonlySet<string>): string[] {
  const lines = frame.split("\n").map((l) => l.replace(/[│┃|]\s*$/, "").trimEnd());
  const broken: string[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const x = lines[i]!.split(/\s+/).at(-1) ?? "";
    const y = lines[i + 1]!.replace(/^\s*[│┃]?\s*/, "").split(/\s+/)[0] ?? "";
    if (!/[\p{L}\p{N}]$/u.test(x) || !/^[\p{L}\p{N}]/u.test(y)) continue;
    const joined = word(x + y);
    if (meant.has(joined) && !meant.has(word(x))) broken.push(`${x}/${y} (${joined})`);
  }
  return broken;
}

describe("every command at 80×24 and 60×20: no word broken across lines", { skip, timeout: 900_000 }, () => {
  const c = cluster!;
  let removeController: (() => Promise<void>) | undefined;
  const namespaces: string[] = [];
  const meant = new Map<string, Set<string>>();

  before(async () => {
    removeController = await ingressControllerStandIn(c);
  });
  after(async () => {
    for (const ns of namespaces) await tidy(c, ns);
    await removeController?.();
  });

  /** Walks every step at one size, in a namespace of its own; the frames of each step. */
  async function walk(size: Size): Promise<Map<string, string[]>> {
    // Every size's namespace has the same length: the texts differ only where the program's do.
    const ns = uniqueNamespace("walk");
    namespaces.push(ns, `${ns}-asked`);
    const dir = mkdtempSync(join(tmpdir(), "mathison-walk-"));
    const out = new Map<string, string[]>();
    for (const step of STEPS) out.set(step.name, await framesOf(c, step, ns, dir, size));
    return out;
  }

  it(`wide enough (${WIDE.cols} columns) that nothing wraps: what the program means to print`, async () => {
    for (const [name, frames] of await walk(WIDE)) meant.set(name, wordsOf(frames.join("\n")));
  });

  for (const size of SIZES) {
    it(`at ${size.cols}×${size.rows}`, async () => {
      assert.ok(meant.size > 0, "the wide walk ran first");
      const found: string[] = [];
      for (const [name, frames] of await walk(size)) {
        const words = meant.get(name)!;
        for (const frame of frames) for (const b of brokenWords(frame, words)) found.push(`${name}: ${b}`);
      }
      assert.deepEqual([...new Set(found)], []);
    });
  }
});
