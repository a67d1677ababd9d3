// The day-2 logic without a cluster: recorded answers, kept secrets, the record, the plan's words.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isCI } from "../../src/cli/commands/install.js";
import { parseReplaceSecrets, type Installed } from "../../src/config/installed.js";
import { loadConfig } from "../../src/config/load.js";
import { formatProblem } from "../../src/config/types.js";
import { rolloutPodsOf } from "../../src/engine/diagnose.js";
import type { PlannedChange } from "../../src/engine/events.js";
import { describeImpact } from "../../src/engine/impact.js";
import { holderIsGone, lockHeldMessage } from "../../src/engine/lock-holder.js";
import type { ObjectChange } from "../../src/engine/plan.js";
import {
  decodeRecord,
  encodeRecord,
  HISTORY_LENGTH,
  nextRecord,
  summarizeRecord,
  type RunEntry,
} from "../../src/record/install-record.js";
import { planCounts, planLines, timeAgo } from "../../src/ui/plan-lines.js";
import { markAgainst } from "../../src/ui/wizard/answers.js";
import { inventoryKey, parseInventoryKey, type KubeObject } from "../../src/facts/objects.js";
import { owner } from "../helpers/plan.js";

const KEY = "sk-ant-installed";
const AUTH = "A".repeat(44);
const PG = "p".repeat(32);

function installed(
  answers: Record<string, string> | undefined = {
    domain: "chat.acme.io",
    tag: "1.0.0",
    webImage: "reg.acme.io/mathison-web",
    workerImage: "mathison-worker",
    tls: "cert-manager:letsencrypt",
    webReplicas: "3",
    postgresStorage: "20Gi",
  },
): Installed {
  return {
    answers,
    secrets: { anthropicApiKey: KEY, authSecret: AUTH, postgresPassword: PG },
    recordName: "ConfigMap ns/mathison-install",
    secretName: "Secret ns/mathison-secrets",
  };
}

function load(
  flags: Record<string, string>,
  env: Record<string, string> = {},
  replace: string | undefined = undefined,
) {
  const replaceSecrets = parseReplaceSecrets(replace).keys;
  return loadConfig({ flags, env, forInstall: true, installed: installed(), replaceSecrets });
}

function ok(r: ReturnType<typeof load>) {
  assert.ok(r.ok, r.ok ? "" : r.problems.map(formatProblem).join("\n"));
  return r;
}

describe("recorded answers", () => {
  it("an upgrade given only a tag keeps every other answer and the secrets", () => {
    const r = ok(load({ tag: "1.2.0" }));
    assert.equal(r.config.domain, "chat.acme.io");
    assert.deepEqual(r.config.tls, { mode: "cert-manager", issuer: "letsencrypt" });
    assert.equal(r.config.webReplicas, 3);
    assert.equal(r.config.postgresStorage, "20Gi");
    assert.equal(r.config.webImage, "reg.acme.io/mathison-web:1.2.0", "the recorded repository follows the new tag");
    assert.equal(r.config.workerImage, "mathison-worker:1.2.0");
    assert.deepEqual(r.config.secrets, {
      anthropicApiKey: KEY,
      authSecret: AUTH,
      postgresPassword: PG,
      registryPassword: "",
      dockerConfig: "",
      redisPassword: "",
      postgresCaCert: "",
      redisCaCert: "",
    });
    assert.deepEqual(r.config.generated, [], "nothing is generated again");
    assert.deepEqual(r.notices, []);
  });

  it("flags > environment > values file > recorded answers > defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "mathison-values-"));
    const values = join(dir, "values.yaml");
    writeFileSync(values, "domain: values.acme.io\nwebReplicas: 4\nmathisonMode: values\n");
    const r = ok(load({ values, domain: "flag.acme.io" }, { MATHISON_WEB_REPLICAS: "5" }));
    assert.equal(r.config.domain, "flag.acme.io");
    assert.equal(r.config.webReplicas, 5);
    assert.equal(r.config.mathisonMode, "values");
    assert.equal(r.config.postgresStorage, "20Gi", "recorded");
    assert.equal(r.config.redisStorage, "1Gi", "default");
    assert.equal(r.chosen.postgresStorage?.field, "ConfigMap ns/mathison-install postgresStorage");
    assert.equal(r.chosen.redisStorage?.field, undefined);
  });

  it("a recorded image with its own tag keeps it until a tag is given", () => {
    const pinned = { ...installed().answers!, webImage: "reg.acme.io/mathison-web:custom" };
    const keep = loadConfig({ flags: {}, env: {}, forInstall: true, installed: { ...installed(), answers: pinned } });
    assert.ok(keep.ok);
    assert.equal(keep.config.webImage, "reg.acme.io/mathison-web:custom");
    const upgrade = loadConfig({
      flags: { tag: "2.0.0" },
      env: {},
      forInstall: true,
      installed: { ...installed(), answers: pinned },
    });
    assert.ok(upgrade.ok);
    assert.equal(upgrade.config.webImage, "reg.acme.io/mathison-web:2.0.0");
  });

  it("without a record (first install) the domain is still required", () => {
    const r = loadConfig({
      flags: {},
      env: {},
      forInstall: true,
      installed: { ...installed(), answers: undefined, secrets: {} },
    });
    assert.ok(!r.ok);
    assert.ok(r.problems.some((p) => p.field === "--domain"));
  });
});

describe("kept secrets", () => {
  it("an API key from the environment that differs is not applied, and the notice names the key, not the value", () => {
    const r = ok(load({}, { ANTHROPIC_API_KEY: "sk-ant-someone-else" }));
    assert.equal(r.config.secrets.anthropicApiKey, KEY);
    assert.equal(r.notices.length, 1);
    assert.match(
      r.notices[0]!,
      /^ANTHROPIC_API_KEY: kept the installed value; the one from ANTHROPIC_API_KEY differs.*--replace-secret ANTHROPIC_API_KEY/,
    );
    assert.ok(!r.notices[0]!.includes("sk-ant-someone-else"));
  });

  it("--replace-secret applies it, and a replaced AUTH_SECRET without a value is generated", () => {
    const r = ok(load({}, { ANTHROPIC_API_KEY: "sk-ant-new" }, "ANTHROPIC_API_KEY,AUTH_SECRET"));
    assert.equal(r.config.secrets.anthropicApiKey, "sk-ant-new");
    assert.notEqual(r.config.secrets.authSecret, AUTH);
    assert.deepEqual(r.config.generated, ["authSecret"]);
    assert.equal(r.config.secrets.postgresPassword, PG);
  });

  it("an equal value is simply the installed one", () => {
    const r = ok(load({}, { ANTHROPIC_API_KEY: KEY }));
    assert.deepEqual(r.notices, []);
  });

  it("a different POSTGRES_PASSWORD is refused with what to do instead, never shown", () => {
    const r = load({}, { MATHISON_POSTGRES_PASSWORD: "q".repeat(32) });
    assert.ok(!r.ok);
    const line = r.problems.map(formatProblem).join("\n");
    assert.match(line, /POSTGRES_PASSWORD.*locked out/);
    assert.ok(!line.includes("q".repeat(32)));
  });

  it("--replace-secret refuses POSTGRES_PASSWORD of the in-cluster PostgreSQL and unknown keys, and a key replacement needs a value", () => {
    const pg = load({}, { MATHISON_POSTGRES_PASSWORD: "n".repeat(20) }, "POSTGRES_PASSWORD");
    assert.ok(!pg.ok);
    assert.match(
      formatProblem(pg.problems[0]!),
      /^--replace-secret: "POSTGRES_PASSWORD" is not allowed: ANTHROPIC_API_KEY or AUTH_SECRET: PostgreSQL reads/,
    );
    assert.equal(parseReplaceSecrets("NOPE").problems.length, 1);
    assert.deepEqual(parseReplaceSecrets(" AUTH_SECRET ").keys, ["authSecret"]);
    const r = load({}, {}, "ANTHROPIC_API_KEY");
    assert.ok(!r.ok);
    assert.match(formatProblem(r.problems[0]!), /a new value to replace it with/);
  });
});

describe("your own PostgreSQL on a re-run", () => {
  const own = { ...installed().answers, postgresUrl: "postgres://app@db.example.com/m" };
  const loadOwn = (
    env: Record<string, string>,
    replace?: string,
    rotate: readonly ("postgresPassword" | "authSecret")[] = [],
  ) =>
    loadConfig({
      flags: {},
      env,
      forInstall: true,
      installed: { ...installed(own) },
      replaceSecrets: parseReplaceSecrets(replace).keys,
      rotateSecrets: rotate,
    });

  it("takes its new password with --replace-secret POSTGRES_PASSWORD (changed in its console first), never rotates it itself", () => {
    const replaced = ok(loadOwn({ MATHISON_POSTGRES_PASSWORD: "new-short" }, "POSTGRES_PASSWORD"));
    assert.equal(replaced.config.secrets.postgresPassword, "new-short");
    const kept = ok(loadOwn({ MATHISON_POSTGRES_PASSWORD: "new-short" }));
    assert.equal(kept.config.secrets.postgresPassword, PG, "a different one without --replace-secret is not applied");
    assert.ok(kept.notices.some((n) => /--replace-secret POSTGRES_PASSWORD/.test(n)));
    const rotated = loadOwn({}, undefined, ["postgresPassword"]);
    assert.ok(!rotated.ok);
    assert.match(formatProblem(rotated.problems[0]!), /^--rotate: .*changed where it runs \(its console/);
  });

  it("moves PostgreSQL's data either way (the install's plan carries it), and switches Redis", () => {
    const toOwn = ok(load({ "postgres-url": "postgres://app@db.example.com/m" }, { MATHISON_POSTGRES_PASSWORD: "x" }));
    assert.equal(toOwn.config.externalPostgres?.host, "db.example.com");
    assert.equal(toOwn.config.secrets.postgresPassword, "x", "your own database's password, not the cluster's");
    const noPassword = load({ "postgres-url": "postgres://app@db.example.com/m" }, {});
    assert.ok(!noPassword.ok, "the cluster's password is no use in your own database: it must be given");
    assert.match(noPassword.problems.map(formatProblem).join("\n"), /postgres-password/i);
    const back = loadOwn({ MATHISON_POSTGRES_URL: "" });
    assert.ok(back.ok, "an empty environment variable is no value: the recorded URL stays");
    assert.ok(back.config.externalPostgres, "still your own");
    const withCompanions = { ...own, postgresSslMode: "require" };
    const backByFlag = ok(
      loadConfig({ flags: { "postgres-url": "" }, env: {}, forInstall: true, installed: installed(withCompanions) }),
    );
    assert.equal(backByFlag.config.externalPostgres, undefined, "back in the cluster, the recorded sslmode with it");
    assert.equal(
      backByFlag.config.secrets.postgresPassword,
      PG,
      "the installed password, set in the cluster's PostgreSQL",
    );
    const redis = ok(load({ "redis-url": "redis://cache.example.com:6379/0" }, {}));
    assert.equal(redis.config.externalRedis?.host, "cache.example.com", "Redis switches too (its queue drained first)");
  });
});

describe("install record", () => {
  const run = (n: number, outcome = "ok"): RunEntry => ({
    time: `2026-01-${String(n).padStart(2, "0")}T00:00:00Z`,
    installerVersion: "0.1.0",
    webImage: `mathison-web:${n}`,
    workerImage: "w",
    outcome,
    user: "u",
    host: "h",
    context: "c",
  });

  it("round-trips through its ConfigMap, answers as strings", () => {
    const rec = {
      ...nextRecord(decodeRecord(undefined), run(1), {
        answers: { domain: "x.io", webReplicas: "2", tls: "none" },
        defaults: ["webReplicas"],
        inventory: ["v1 ConfigMap ns/a"],
      }),
      verification: { time: "2026-01-02T00:00:00Z", ok: false, failed: ["sse"], warned: [] },
    };
    const back = decodeRecord(encodeRecord(rec, "ns"));
    assert.deepEqual(back, rec);
    assert.equal(back.answers!.tls, "none", "a YAML 1.1 boolean-looking word stays a string");
  });

  it("a failed run joins the history but keeps the last good answers; the history is bounded", () => {
    let rec = nextRecord(decodeRecord(undefined), run(1), { answers: { domain: "x.io" }, defaults: [], inventory: [] });
    rec = nextRecord(rec, run(2, "wait-failed"));
    assert.deepEqual(rec.answers, { domain: "x.io" });
    assert.equal(rec.installedAt, run(1).time);
    assert.equal(summarizeRecord(rec)!.webImage, "mathison-web:1", "the image that runs is the last successful one");
    for (let i = 3; i < 20; i++)
      rec = nextRecord(rec, run(i), { answers: { domain: "x.io" }, defaults: [], inventory: [] });
    assert.equal(rec.history.length, HISTORY_LENGTH);
    assert.equal(rec.installedAt, run(1).time);
    assert.equal(rec.updatedAt, run(19).time);
  });

  it("a hand-broken record reads as no record, not a crash", () => {
    const rec = decodeRecord({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "mathison-install" },
      data: { "answers.yaml": "{: nope", "history.yaml": "[" },
    });
    assert.equal(rec.answers, undefined);
    assert.deepEqual(rec.history, []);
  });

  it("a new successful run forgets the verification of the version before it", () => {
    const verified = {
      ...nextRecord(decodeRecord(undefined), run(1), { answers: {}, defaults: [], inventory: [] }),
      verification: { time: run(1).time, ok: true, failed: [], warned: [] },
    };
    assert.equal(
      nextRecord(verified, run(2, "wait-failed")).verification?.ok,
      true,
      "a failed run keeps the last verification (the record keeps the last good version)",
    );
    assert.equal(nextRecord(verified, run(3), { answers: {}, defaults: [], inventory: [] }).verification, undefined);
  });

  it("inventory keys name cluster-scoped and namespaced objects", () => {
    const ns = inventoryKey({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "x" } });
    assert.deepEqual(parseInventoryKey(ns), { apiVersion: "v1", kind: "ConfigMap", name: "a", namespace: "x" });
    assert.deepEqual(
      parseInventoryKey(
        inventoryKey({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "m" } }),
      ),
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name: "m" },
    );
  });
});

const deployment = (image: string, replicas = 2): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "mathison-web", namespace: "ns" },
  spec: {
    replicas,
    strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: { spec: { containers: [{ image }] } },
  },
  status: { replicas },
});

function change(partial: Partial<ObjectChange> & Pick<ObjectChange, "action" | "desired">): ObjectChange {
  return {
    stage: "app",
    object: `${partial.desired.kind}/${partial.desired.metadata.name}`,
    fields: [],
    live: undefined,
    conflicts: [],
    ...partial,
  };
}

describe("plan impact and text", () => {
  it("says which workloads roll out, which secrets change (without values) and what a migration does", () => {
    const impact = describeImpact([
      change({
        action: "change",
        desired: deployment("web:2"),
        live: deployment("web:1"),
        fields: ["spec.template.spec.containers[0].image"],
      }),
      change({
        stage: "config",
        action: "change",
        desired: { apiVersion: "v1", kind: "Secret", metadata: { name: "mathison-secrets" } },
        fields: ["data.ANTHROPIC_API_KEY"],
      }),
      change({
        stage: "migrate",
        action: "replace",
        desired: {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: { name: "mathison-migrate-x" },
          spec: { template: { spec: { containers: [{ image: "web:2" }] } } },
        },
        note: "the migration failed earlier: its Job is recreated to retry",
      }),
    ]);
    assert.match(
      impact[0]!.message,
      /Deployment\/mathison-web rolls out \(web:1 → web:2\): its 2 pods are replaced one at a time, without downtime/,
    );
    assert.equal(
      impact[1]!.message,
      "Secret/mathison-secrets: ANTHROPIC_API_KEY changes (values not shown); web and worker restart to read it",
    );
    assert.match(impact[2]!.message, /recreated to retry \(image web:2\)/);
  });

  const planned = (action: PlannedChange["action"], object: string, fields: string[] = []): PlannedChange => ({
    stage: "app",
    object,
    action,
    fields,
    conflicts: [],
  });
  const event = (changes: PlannedChange[], installed?: object) => ({
    event: "plan" as const,
    context: "c",
    server: "s",
    namespace: "ns",
    dryRun: false,
    stages: [],
    changes,
    impact: [],
    notices: ["ANTHROPIC_API_KEY: kept"],
    ...(installed ? { installed } : {}),
  });

  it("an upgrade lists every object that changes and counts the rest", () => {
    const lines = planLines(
      event(
        [
          planned("change", "Deployment/mathison-web", ["spec.template.spec.containers[0].image"]),
          planned("create", "Job/mathison-migrate-1"),
          planned("unchanged", "Service/a"),
          planned("delete", "ConfigMap/old"),
        ],
        { webImage: "mathison-web:1.0.0", installedAt: "2026-01-01T09:30:12.345Z" },
      ),
      new Date("2026-01-04T12:00:00Z"),
    );
    assert.equal(lines[0], "Mathison mathison-web:1.0.0 is installed in namespace ns (installed 3 days ago)");
    assert.equal(lines[1], "Plan: 1 to create, 1 to change, 1 to delete, 1 unchanged");
    assert.ok(lines.includes("  ~ Deployment/mathison-web: spec.template.spec.containers[0].image"));
    assert.ok(lines.includes("  + Job/mathison-migrate-1"));
    assert.ok(lines.includes("  - ConfigMap/old"));
    assert.ok(!lines.some((l) => l.includes("Service/a")));
    assert.deepEqual(lines.slice(-2), ["Notes:", "  ! ANTHROPIC_API_KEY: kept"]);
  });

  it("says how long ago, as a person would", () => {
    const now = new Date("2026-11-24T12:00:00Z");
    assert.equal(timeAgo("2026-11-24T11:59:30Z", now), "just now");
    assert.equal(timeAgo("2026-11-24T11:00:00Z", now), "1 hour ago");
    assert.equal(timeAgo("2026-11-21T11:00:00Z", now), "3 days ago");
    assert.equal(timeAgo("2025-10-01T00:00:00Z", now), "1 year ago");
  });

  it("a first install counts its creates instead of listing the manifest; a no-op upgrade says so", () => {
    assert.deepEqual(planLines(event([planned("create", "A/a"), planned("create", "B/b")])).slice(0, 1), [
      "Plan: 2 to create",
    ]);
    assert.ok(
      planLines(event([planned("unchanged", "A/a")], {})).includes("  nothing to change: the cluster already matches"),
    );
    assert.equal(planCounts([]), "");
  });

  it("summary marks compare with the record", () => {
    const mark = markAgainst(
      { domain: "a.io", tag: "1" },
      {
        domain: { value: "a.io", field: "r" },
        tag: { value: "2", field: "--tag" },
        storageClass: { value: "fast", field: "--storage-class" },
      },
    );
    assert.equal(mark(["domain"]), "kept");
    assert.equal(mark(["domain", "tag"]), "changed");
    assert.equal(mark(["storageClass"]), "new");
  });
});

describe("lock and diagnosis", () => {
  it("a held lock names its holder and when it expires", () => {
    const msg = lockHeldMessage(
      { user: "ana", host: "laptop", pid: 42, context: "prod", since: "2026-11-24T10:00:00Z" },
      new Date("2026-11-24T10:00:20Z"),
      new Date("2026-11-24T10:00:08Z"),
    );
    assert.match(msg, /ana@laptop \(pid 42, context prod\) since 2026-11-24T10:00:00Z/);
    assert.match(
      msg,
      /is still renewing it \(its lease runs 12 s more\); wait for it to finish, or give --lock-timeout 5m/,
    );
  });

  it("a holder is gone only when proven on this machine: same host, user, boot and PID namespace, and its pid missing or reused", () => {
    const here = {
      host: "laptop",
      user: "ana",
      bootId: "boot-1",
      pidNamespace: "pid:[4026531836]",
      startTimeOf: (pid: number) => (pid === 42 ? "1000" : undefined),
    };
    const holder = {
      user: "ana",
      host: "laptop",
      context: "prod",
      since: "2026-11-24T10:00:00Z",
      bootId: "boot-1",
      pidNamespace: "pid:[4026531836]",
      pid: 42,
      startTime: "1000",
    };
    assert.equal(holderIsGone(holder, here), false, "this process lives");
    assert.equal(holderIsGone({ ...holder, pid: 43 }, here), true, "no such pid");
    assert.equal(holderIsGone({ ...holder, startTime: "999" }, here), true, "the pid is another process now");
    assert.equal(holderIsGone({ ...holder, pid: 43, host: "elsewhere" }, here), false, "another host: cannot tell");
    assert.equal(holderIsGone({ ...holder, pid: 43, pidNamespace: "pid:[1]" }, here), false, "another container");
    assert.equal(holderIsGone({ ...holder, pid: 43, bootId: "boot-0" }, here), false, "another boot, or machine");
    const { bootId: _b, pidNamespace: _p, startTime: _s, ...older } = holder;
    assert.equal(holderIsGone({ ...older, pid: 43 }, here), false, "a holder that did not say: cannot tell");
  });

  it("a Deployment's rollout pods are its newest ReplicaSet's: a crash-looping old version is not the upgrade's", () => {
    const rs = (uid: string, revision: string): KubeObject => ({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: uid,
        uid,
        ownerReferences: [owner("d")],
        annotations: { "deployment.kubernetes.io/revision": revision },
      },
    });
    const pod = (name: string, ownerUid: string): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, ownerReferences: [owner(ownerUid)] },
    });
    const snap = {
      pods: [pod("old", "rs1"), pod("new", "rs2")],
      replicaSets: [rs("rs1", "1"), rs("rs2", "2")],
      events: [],
      pvcs: [],
    };
    const web = (generation: number, observed: number, revision: string) => ({
      ...deployment("web:2"),
      metadata: {
        name: "mathison-web",
        uid: "d",
        generation,
        annotations: { "deployment.kubernetes.io/revision": revision },
      },
      status: { observedGeneration: observed },
    });
    assert.deepEqual(
      rolloutPodsOf(web(2, 2, "2"), snap).map((p) => p.metadata.name),
      ["new"],
    );
    assert.deepEqual(
      rolloutPodsOf(web(3, 2, "2"), snap),
      [],
      "the new spec is not observed yet: no pod is the rollout's",
    );
    assert.deepEqual(rolloutPodsOf(web(3, 3, "3"), snap), [], "its ReplicaSet is not in the snapshot yet");
    const job: KubeObject = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "m", uid: "j", generation: 1 },
      status: {},
    };
    assert.deepEqual(
      rolloutPodsOf(job, { ...snap, pods: [pod("m-1", "j")] }).map((p) => p.metadata.name),
      ["m-1"],
      "a Job's pods are its own, generation or not",
    );
  });

  it("CI is detected as is-in-ci does", () => {
    assert.equal(isCI({ CI: "true" }), true);
    assert.equal(isCI({ CI: "1" }), true);
    assert.equal(isCI({ CI: "false" }), false);
    assert.equal(isCI({ CI: "0" }), false);
    assert.equal(isCI({ CI_PIPELINE_ID: "5" }), true);
    assert.equal(isCI({}), false);
  });
});
