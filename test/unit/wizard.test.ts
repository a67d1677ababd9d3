import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { FIELD_KEYS, type FieldKey } from "../../src/config/fields.js";
import type { Question } from "../../src/ui/wizard/question.js";
import { planQuestions, tagQuestion } from "../../src/ui/wizard/questions.js";
import { summaryLines } from "../../src/ui/wizard/summary.js";
import { askQuestions, fitted, WizardCancelled } from "../../src/ui/wizard/wizard.js";
import { configFrom } from "../helpers/plan.js";
import type { ClusterFacts } from "../../src/pipeline/cluster-facts.js";

const facts: ClusterFacts = {
  ingressClasses: [
    { name: "traefik", isDefault: false },
    { name: "nginx", isDefault: true },
  ],
  clusterIssuers: ["letsencrypt-prod"],
  tlsSecrets: ["wildcard-tls"],
};
const none = new Set<FieldKey>();
const byKey = (qs: Question[], key: FieldKey) => qs.find((q) => q.key === key)!;

describe("which questions", () => {
  it("asks for registry credentials only when an image names a registry of its own, and the password only with a user", () => {
    const qs = planQuestions({ supplied: none, facts });
    const user = byKey(qs, "registryUsername");
    const pass = byKey(qs, "registryPassword");
    assert.ok(user.kind === "input" && user.askIf && pass.kind === "secret" && pass.askIf);
    const answers = (a: Partial<Record<FieldKey, string>>) => (k: FieldKey) => a[k];
    assert.equal(user.askIf(answers({})), false, "Docker Hub images: not asked");
    assert.equal(user.askIf(answers({ webImage: "ghcr.io/acme/mathison-web" })), true);
    assert.equal(pass.askIf(answers({ registryUsername: "" })), false);
    assert.equal(pass.askIf(answers({ registryUsername: "bot" })), true);
    const given = planQuestions({ supplied: new Set<FieldKey>(["imagePullSecret"]), facts });
    assert.equal(
      given.find((q) => q.key === "registryUsername"),
      undefined,
      "a pull secret given: not asked",
    );
  });

  it("asks everything open, with choices from the cluster and its defaults preselected", () => {
    const qs = planQuestions({ supplied: none, facts });
    assert.deepEqual(
      qs.map((q) => q.key),
      [
        "domain",
        "ingressClass",
        "tls",
        "tag",
        "webImage",
        "workerImage",
        "registryUsername",
        "registryPassword",
        "postgresUrl",
        "postgresPassword",
        "redisUrl",
        "redisPassword",
        "anthropicApiKey",
        "baseDomain",
        "authSecret",
        "postgresPassword",
      ],
    );
    const ingress = byKey(qs, "ingressClass");
    assert.ok(ingress.kind === "select");
    assert.equal(ingress.default, "nginx", "the cluster's default class is preselected");
    assert.deepEqual(
      ingress.choices.map((c) => c.value),
      ["nginx", "traefik"],
    );
    const tls = byKey(qs, "tls");
    assert.ok(tls.kind === "select");
    assert.equal(tls.default, "cert-manager:letsencrypt-prod");
    assert.deepEqual(
      tls.choices.map((c) => c.value),
      ["cert-manager:letsencrypt-prod", "secret:wildcard-tls", "secret:", "none"],
    );
  });
  it("never asks what flags, environment, values file or the existing install gave", () => {
    assert.deepEqual(planQuestions({ supplied: new Set(FIELD_KEYS), facts }), []);
    const kept = planQuestions({
      supplied: none,
      kept: new Set<FieldKey>(["authSecret", "postgresPassword", "anthropicApiKey"]),
      facts,
    });
    assert.ok(!kept.some((q) => ["authSecret", "postgresPassword", "anthropicApiKey"].includes(q.key)));
  });
  it("says so clearly when the cluster has no IngressClass, and asks for a name instead", () => {
    const q = byKey(
      planQuestions({ supplied: none, facts: { ingressClasses: [], clusterIssuers: [], tlsSecrets: [] } }),
      "ingressClass",
    );
    assert.ok(q.kind === "select");
    assert.match(q.note!, /No IngressClass found in the cluster/);
    assert.equal(q.otherwise?.kind, "input");
  });
  it("validates as typed, saying what is allowed", () => {
    const qs = planQuestions({ supplied: none, facts });
    const domain = byKey(qs, "domain");
    assert.ok(domain.kind === "input");
    assert.equal(domain.validate("chat.example.com"), true);
    assert.match(String(domain.validate("https://chat.example.com")), /^Allowed: an RFC 1123 host name/);
    const tag = byKey(qs, "tag");
    assert.ok(tag.kind === "input");
    assert.match(String(tag.validate("-bad")), /^Allowed: an image tag/);
    const auth = byKey(qs, "authSecret");
    assert.ok(auth.kind === "secret");
    assert.match(String(auth.validate("short")), /at least 32 characters/);
  });
});

describe("asking", () => {
  const terminal = () => {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    // A terminal outlives each prompt: inquirer ends the output stream it was given after each one.
    const output = new PassThrough();
    output.end = (() => output) as typeof output.end;
    let screen = "";
    output.on("data", (c) => (screen += c));
    return { input, output, screen: () => screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "") };
  };
  /** Waits (up to 5 s, however loaded the machine) until the screen shows `re`. */
  const shows = async (t: ReturnType<typeof terminal>, re: RegExp): Promise<void> => {
    for (let waited = 0; !re.test(t.screen()) && waited < 5_000; waited += 10)
      await new Promise((r) => setTimeout(r, 10));
    assert.match(t.screen(), re);
  };

  it("re-asks an invalid answer with what is allowed, then takes a valid one", async () => {
    const t = terminal();
    const qs = planQuestions({ supplied: new Set(FIELD_KEYS.filter((k) => k !== "domain")), facts });
    const answers = askQuestions(qs, t, () => undefined);
    await shows(t, /Domain of the web UI/);
    t.input.write("bad_domain\r");
    await shows(t, /Allowed: an RFC 1123 host name/);
    t.input.write("\x15chat.example.com\r");
    assert.deepEqual(Object.keys(await answers), ["domain"]);
    assert.equal((await answers).domain!.value, "chat.example.com");
  });
  it("PostgreSQL in the cluster or your own: your own asks its URL and its user's password, never generates it", async () => {
    const t = terminal();
    const open = new Set<FieldKey>(["postgresUrl", "postgresPassword", "redisUrl", "redisPassword"]);
    const qs = planQuestions({ supplied: new Set(FIELD_KEYS.filter((k) => !open.has(k))), facts });
    const answers = askQuestions(qs, t, () => undefined);
    await shows(t, /PostgreSQL: run it in the cluster, or use your own\?/);
    t.input.write("\x1b[B\r"); // Down: my own
    await shows(t, /PostgreSQL URL, without its password/);
    t.input.write("postgres://app:pw@db.example.com/m\r");
    await shows(t, /it holds a password/);
    t.input.write("\x15postgres://app@db.example.com/m\r");
    await shows(t, /Password of your PostgreSQL's user/);
    t.input.write("short-but-theirs\r");
    await shows(t, /Redis: run it in the cluster, or use your own\?/);
    t.input.write("\r"); // in the cluster
    const got = await answers;
    assert.equal(got.postgresUrl!.value, "postgres://app@db.example.com/m");
    assert.equal(got.postgresPassword!.value, "short-but-theirs");
    assert.equal(got.redisUrl!.value, "");
    assert.equal(got.redisPassword, undefined, "no Redis password for the cluster's own");
    assert.ok(!t.screen().includes("generate one"), "your own database's password is not offered to be generated");
  });
  it("does not ask where the databases run on a re-run: the install keeps what it has", () => {
    const qs = planQuestions({ supplied: none, facts, recorded: { domain: "chat.acme.io" } });
    assert.ok(!qs.some((q) => q.key === "postgresUrl" || q.key === "redisUrl"));
  });
  it("Ctrl-C cancels the questions", async () => {
    const t = terminal();
    const qs = planQuestions({ supplied: none, facts });
    const answers = askQuestions(qs, t, () => undefined);
    await shows(t, /Domain of the web UI/);
    t.input.write("\x03");
    await assert.rejects(answers, WizardCancelled);
  });
});

describe("summary", () => {
  it("masks every secret and says where it came from", () => {
    const config = configFrom({ domain: "chat.acme.io", anthropicApiKey: "sk-ant-very-secret" });
    const lines = summaryLines(config, "prod", (k) =>
      k === "anthropicApiKey" ? "given" : k === "authSecret" ? "kept" : "generated",
    ).join("\n");
    assert.ok(
      !lines.includes("sk-ant-very-secret") &&
        !lines.includes(config.secrets.authSecret) &&
        !lines.includes(config.secrets.postgresPassword),
    );
    assert.match(lines, /ANTHROPIC_API_KEY\s+•+ \(as given\)/);
    assert.match(lines, /AUTH_SECRET\s+•+ \(kept from the existing install\)/);
    assert.match(lines, /POSTGRES_PASSWORD\s+•+ \(generated\)/);
    assert.match(lines, /URL\s+https:\/\/chat\.acme\.io/);
  });
});

describe("the tag question", () => {
  it("is not asked when both images given name their own tag or digest", () => {
    const given = new Map<FieldKey, string>([
      ["webImage", "ghcr.io/acme/web:1.2.0"],
      ["workerImage", `ghcr.io/acme/worker@sha256:${"a".repeat(64)}`],
    ]);
    const qs = planQuestions({ supplied: new Set(given.keys()), facts, known: (k) => given.get(k) });
    assert.ok(!qs.some((q) => q.key === "tag"));
    const oneTagged = planQuestions({
      supplied: new Set<FieldKey>(["webImage"]),
      facts,
      known: () => "ghcr.io/acme/web:1.2.0",
    });
    assert.ok(
      oneTagged.some((q) => q.key === "tag"),
      "the worker image still takes the tag",
    );
    assert.ok(
      planQuestions({ supplied: none, recorded: { webImage: "w:1", workerImage: "k:1" }, facts }).some(
        (q) => q.key === "tag",
      ),
      "recorded ones follow a new tag: asked",
    );
  });
  it("asks only what a newcomer can answer: one-value settings are shown, not asked; the rest explain themselves", () => {
    const qs = planQuestions({ supplied: none, facts });
    assert.ok(!qs.some((q) => q.key === "llmProvider" || q.key === "mathisonMode"), "one supported value each");
    const base = byKey(qs, "baseDomain");
    assert.ok(base.kind === "input" && /APP\.BASE-DOMAIN, so it needs a wildcard DNS record/.test(base.note ?? ""));
    const tag = byKey(qs, "tag");
    assert.ok(tag.kind === "input" && /The default tag, latest, names no release/.test(tag.note ?? ""));
    const pinned = tagQuestion("2.1.0");
    assert.ok(pinned.kind === "input" && pinned.note === undefined, "a release needs no note");
  });
});

describe("questions at the terminal's width", () => {
  const terminal = (columns: number) => Object.assign(new PassThrough(), { isTTY: true, columns });
  const message = "Web image (repository; a :tag or @digest here wins)";

  it("a question that fits is left as it is", () => {
    assert.equal(fitted(message, "(mathison-web)", terminal(120)), message);
    assert.equal(fitted(message, "(mathison-web)", new PassThrough()), message, "not a terminal");
  });

  it("wrapped at words, the default and answer on a line of their own when the last line has no room", () => {
    const at60 = fitted(message, "(mathison-web)", terminal(60));
    for (const line of at60.split("\n")) assert.ok(2 + line.length <= 60, line);
    assert.equal(at60.replaceAll("\n", " ").trim(), message, "no word broken or lost");
    const at32 = fitted(message, "(mathison-web)", terminal(32));
    assert.ok(at32.endsWith("\n"), "the default goes below");
    assert.ok(at32.split("\n").every((l) => 2 + l.length <= 32));
  });
});

describe("summary of your own databases", () => {
  it("names your own PostgreSQL and Redis by their URLs, never a password, and the volumes only of those the install runs", () => {
    const config = configFrom({
      domain: "chat.acme.io",
      postgresUrl: "postgres://app@db.example.com/m",
      postgresPassword: "db-password-1",
      redisPassword: "redis-password-1",
      redisUrl: "rediss://cache.example.com:6380/1",
    });
    const lines = summaryLines(config, "prod", () => "given").join("\n");
    assert.match(lines, /PostgreSQL\s+your own, app@db\.example\.com:5432\/m \(sslmode verify-full\)/);
    assert.match(lines, /Redis\s+your own, rediss:\/\/cache\.example\.com:6380\/1/);
    assert.match(lines, /REDIS_PASSWORD\s+•+ \(as given\)/);
    assert.ok(!lines.includes("db-password-1") && !lines.includes("redis-password-1"));
    assert.doesNotMatch(lines, /storage/, "no volume of a database the install does not run");
    const half = summaryLines(
      configFrom({ domain: "chat.acme.io", redisUrl: "redis://cache.example.com" }),
      "prod",
      () => "given",
    );
    assert.match(half.join("\n"), /storage\s+PostgreSQL 10Gi \(default class\)/);
  });
});
