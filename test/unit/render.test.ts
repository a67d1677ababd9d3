import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { redact, REDACTED } from "../../src/render/output.js";
import { migrationJobName, versionLabel } from "../../src/render/customise.js";
import { renderPlan } from "../../src/render/render.js";
import { runCli } from "../helpers/cli.js";
import { FIELDS } from "../../src/config/fields.js";
import { redisRestorePod } from "../../src/render/restore-pod.js";
import { allObjects, configFrom, findObject, render } from "../helpers/plan.js";

const secretValue = (plan: ReturnType<typeof render>, key: string) =>
  Buffer.from(findObject(plan, "Secret", "mathison-secrets").data[key], "base64").toString();

describe("render", () => {
  it("orders stages as the install applies them", () => {
    assert.deepEqual(
      render().stages.map((s) => s.id),
      ["base", "config", "backing", "migrate", "app", "edge"],
    );
  });

  it("puts every namespaced object in the chosen namespace and renames cluster-scoped ones", () => {
    const plan = render({ namespace: "mathison-staging" });
    for (const o of allObjects(plan)) {
      if (["Namespace", "ClusterRole", "ClusterRoleBinding"].includes(o.kind))
        assert.equal(o.metadata.namespace, undefined);
      else assert.equal(o.metadata.namespace, "mathison-staging", `${o.kind}/${o.metadata.name}`);
    }
    findObject(plan, "Namespace", "mathison-staging");
    const binding = findObject(plan, "ClusterRoleBinding", "mathison-mathison-staging");
    assert.equal(binding.roleRef.name, "mathison-mathison-staging");
    assert.equal(binding.subjects[0].namespace, "mathison-staging");
    assert.match(secretValue(plan, "DATABASE_URL"), /@postgres\.mathison-staging\.svc\.cluster\.local:5432\//);
    assert.equal(
      findObject(plan, "ConfigMap", "mathison-config").data.REDIS_URL,
      "redis://redis.mathison-staging.svc.cluster.local:6379",
    );
  });

  it("derives AUTH_URL from the Ingress host and TLS mode, so OAuth callbacks match", () => {
    for (const [tls, scheme] of [
      ["none", "http"],
      ["secret:my-cert", "https"],
      ["cert-manager:letsencrypt-prod", "https"],
    ] as const) {
      const plan = render({ domain: "chat.acme.io", tls });
      const cm = findObject(plan, "ConfigMap", "mathison-config");
      const ing = findObject(plan, "Ingress", "mathison-web");
      assert.equal(cm.data.AUTH_URL, `${scheme}://${ing.spec.rules[0].host}`);
      assert.equal(ing.spec.rules[0].host, "chat.acme.io");
    }
  });

  it("shapes the Ingress TLS block per mode", () => {
    assert.equal(findObject(render({ tls: "none" }), "Ingress", "mathison-web").spec.tls, undefined);
    const own = findObject(render({ tls: "secret:my-cert", domain: "a.example.org" }), "Ingress", "mathison-web");
    assert.deepEqual(own.spec.tls, [{ hosts: ["a.example.org"], secretName: "my-cert" }]);
    assert.equal(own.metadata.annotations!["cert-manager.io/cluster-issuer"], undefined);
    const cm = findObject(render({ tls: "cert-manager:letsencrypt-prod" }), "Ingress", "mathison-web");
    assert.equal(cm.metadata.annotations!["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
    assert.equal(cm.spec.tls[0].secretName, "mathison-tls");
  });

  it("applies images, replicas, storage and app settings", () => {
    const plan = render({
      webImage: "ghcr.io/acme/mathison-web",
      workerImage: "ghcr.io/acme/mathison-worker",
      tag: "1.4.0",
      webReplicas: "3",
      storageClass: "fast-ssd",
      postgresStorage: "50Gi",
      redisStorage: "2Gi",
      llmProvider: "anthropic",
      mathisonMode: "multi-tenant",
      domain: "m.acme.io",
      ingressClass: "traefik",
      ingressNamespace: "traefik",
    });
    const web = findObject(plan, "Deployment", "mathison-web");
    assert.equal(web.spec.replicas, 3);
    assert.equal(web.spec.template.spec.containers[0].image, "ghcr.io/acme/mathison-web:1.4.0");
    assert.equal(web.metadata.labels!["app.kubernetes.io/version"], "1.4.0");
    assert.equal(
      findObject(plan, "Deployment", "mathison-worker").spec.template.spec.containers[0].image,
      "ghcr.io/acme/mathison-worker:1.4.0",
    );
    const job = findObject(plan, "Job", /^mathison-migrate-/);
    assert.equal(job.spec.template.spec.containers[0].image, "ghcr.io/acme/mathison-web:1.4.0");
    for (const [name, size] of [
      ["postgres", "50Gi"],
      ["redis", "2Gi"],
    ]) {
      const claim = findObject(plan, "StatefulSet", name!).spec.volumeClaimTemplates[0].spec;
      assert.equal(claim.storageClassName, "fast-ssd");
      assert.equal(claim.resources.requests.storage, size);
    }
    const cm = findObject(plan, "ConfigMap", "mathison-config").data;
    assert.equal(cm.MATHISON_MODE, "multi-tenant");
    assert.equal(cm.MATHISON_BASE_DOMAIN, "m.acme.io");
    assert.equal(findObject(plan, "Ingress", "mathison-web").spec.ingressClassName, "traefik");
    assert.equal(
      findObject(plan, "NetworkPolicy", "allow-ingress-controller-to-web").spec.ingress[0].from[0].namespaceSelector
        .matchLabels["kubernetes.io/metadata.name"],
      "traefik",
    );
  });

  it("leaves storageClassName out when none is chosen, so the cluster default applies", () => {
    const claim = findObject(render(), "StatefulSet", "postgres").spec.volumeClaimTemplates[0].spec;
    assert.equal("storageClassName" in claim, false);
  });

  it("names the migration Job after the web image: same image, same Job; new image, new Job", () => {
    assert.equal(migrationJobName("mathison-web:1.0"), migrationJobName("mathison-web:1.0"));
    assert.notEqual(migrationJobName("mathison-web:1.0"), migrationJobName("mathison-web:1.1"));
    assert.match(migrationJobName("x:1"), /^mathison-migrate-[0-9a-f]{10}$/);
  });

  it("makes a valid version label from tags and digests", () => {
    assert.equal(versionLabel("x:1.4.0"), "1.4.0");
    assert.equal(versionLabel(`x@sha256:${"ab".repeat(32)}`), "abababababab");
    assert.equal(versionLabel(`x:${"v".repeat(100)}-`), "v".repeat(63));
  });

  it("two renders of one config differ only in the generated secrets", () => {
    const values = { domain: "chat.acme.io", tag: "2.0.0" };
    const a = renderPlan(configFrom(values));
    const b = renderPlan(configFrom(values));
    assert.notEqual(secretValue(a, "AUTH_SECRET"), secretValue(b, "AUTH_SECRET"));
    assert.notEqual(secretValue(a, "POSTGRES_PASSWORD"), secretValue(b, "POSTGRES_PASSWORD"));
    assert.deepEqual(allObjects(a).map(redact), allObjects(b).map(redact));
  });

  it("the Secret holds every key the workloads reference, DATABASE_URL built from the password", () => {
    const plan = render();
    const secret = findObject(plan, "Secret", "mathison-secrets");
    const referenced = new Set(
      allObjects(plan)
        .flatMap((o) => (o.spec?.template?.spec?.containers ?? []).flatMap((c: any) => c.env ?? []))
        .map((e: any) => e.valueFrom?.secretKeyRef?.key)
        .filter(Boolean),
    );
    assert.deepEqual([...referenced].sort(), Object.keys(secret.data).sort());
    const url = new URL(secretValue(plan, "DATABASE_URL"));
    assert.equal(decodeURIComponent(url.password), secretValue(plan, "POSTGRES_PASSWORD"));
    const cm = findObject(plan, "ConfigMap", "mathison-config");
    const cmKeys = new Set(
      allObjects(plan)
        .flatMap((o) => (o.spec?.template?.spec?.containers ?? []).flatMap((c: any) => c.env ?? []))
        .map((e: any) => e.valueFrom?.configMapKeyRef?.key)
        .filter(Boolean),
    );
    for (const k of cmKeys) assert.ok(k in cm.data, `ConfigMap has ${k}`);
  });
});

describe("rollouts the pod templates carry", () => {
  const config = configFrom({ domain: "chat.acme.io", tag: "1.0.0" });
  const template = (plan: ReturnType<typeof renderPlan>, name: string) =>
    findObject(plan, "Deployment", name).spec.template;

  it("a config or secret change changes web's and worker's config digest, so they restart to read it", () => {
    const a = renderPlan(config);
    const b = renderPlan({ ...config, mathisonMode: "saas" });
    for (const name of ["mathison-web", "mathison-worker"]) {
      assert.notEqual(
        template(a, name).metadata.annotations["mathison.dev/config-digest"],
        template(b, name).metadata.annotations["mathison.dev/config-digest"],
      );
    }
    assert.equal(
      template(a, "mathison-web").metadata.annotations["mathison.dev/config-digest"],
      template(renderPlan(config), "mathison-web").metadata.annotations["mathison.dev/config-digest"],
      "same config, same digest",
    );
  });

  it("--pull: a pull token pulls the tag again (Always) and names a new migration Job", () => {
    const plain = renderPlan(config);
    const pulled = renderPlan(config, undefined, { pullToken: "2026-11-24T20:00:00Z" });
    assert.equal(template(plain, "mathison-web").spec.containers[0].imagePullPolicy, "IfNotPresent");
    assert.equal(template(pulled, "mathison-web").spec.containers[0].imagePullPolicy, "Always");
    assert.equal(
      template(pulled, "mathison-worker").metadata.annotations["mathison.dev/pull-token"],
      "2026-11-24T20:00:00Z",
    );
    const job = (plan: ReturnType<typeof renderPlan>) => findObject(plan, "Job", /^mathison-migrate-/);
    assert.notEqual(job(pulled).metadata.name, job(plain).metadata.name);
    assert.equal(job(pulled).metadata.name, migrationJobName("mathison-web:1.0.0", "2026-11-24T20:00:00Z"));
  });
});

describe("mathison-install render", () => {
  it("prints the whole plan as multi-document YAML with secrets redacted", async () => {
    const run = await runCli(["render", "--domain", "chat.acme.io"], { MATHISON_AUTH_SECRET: "A".repeat(44) });
    assert.equal(run.code, 0, run.stderr);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS());
    assert.equal(docs.length, allObjects(render()).length);
    assert.deepEqual(
      docs.slice(0, 2).map((d) => d.kind),
      ["Namespace", "ServiceAccount"],
    );
    const secret = docs.find((d) => d.kind === "Secret");
    assert.deepEqual(Object.values(secret.data), Array(4).fill(REDACTED));
    assert.ok(!run.stdout.includes("A".repeat(44)));
    assert.ok(!run.stdout.includes(Buffer.from("A".repeat(44)).toString("base64")));
    assert.match(run.stdout, /^# Stage 1\/6: Namespace and RBAC$/m);
  });

  it("quotes strings that YAML 1.1 readers (kubectl) would take for booleans", async () => {
    const run = await runCli(["render", "--show-secrets"]);
    const asKubectlReadsIt = parseAllDocuments(run.stdout, { version: "1.1" }).map((d) => d.toJS());
    const asRendered = JSON.parse(JSON.stringify(allObjects(render()).map(redact)));
    assert.deepEqual(asKubectlReadsIt.map(redact), asRendered);
    assert.match(run.stdout, /proxy-buffering: "off"/);
  });

  it("--show-secrets prints the values", async () => {
    const run = await runCli(["render", "--show-secrets"], { MATHISON_AUTH_SECRET: "A".repeat(44) });
    const secret = parseAllDocuments(run.stdout)
      .map((d) => d.toJS())
      .find((d) => d.kind === "Secret");
    assert.equal(Buffer.from(secret.data.AUTH_SECRET, "base64").toString(), "A".repeat(44));
  });

  it("--out writes one file per stage; with --show-secrets only the owner can read them", async () => {
    for (const [flags, mode] of [
      [[], 0o644],
      [["--show-secrets"], 0o600],
    ] as const) {
      const out = join(mkdtempSync(join(tmpdir(), "mathison-render-")), "plan");
      const run = await runCli(["render", "--out", out, ...flags]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "");
      const files = readdirSync(out).sort();
      assert.deepEqual(files, [
        "01-base.yaml",
        "02-config.yaml",
        "03-backing.yaml",
        "04-migrate.yaml",
        "05-app.yaml",
        "06-edge.yaml",
      ]);
      for (const f of files) assert.equal(statSync(join(out, f)).mode & 0o777, mode, f);
      const config = parseAllDocuments(readFileSync(join(out, "02-config.yaml"), "utf8")).map((d) => d.toJS());
      assert.deepEqual(
        config.map((d) => d.kind),
        ["ConfigMap", "Secret"],
      );
    }
  });
});

describe("images from a mirror, pinned backing images", () => {
  it("--image-registry moves every image under the mirror, keeping its repository path", async () => {
    const { imagesOf } = await import("../../src/render/render.js");
    const plan = render({
      imageRegistry: "registry.internal:5000/mathison",
      webImage: "ghcr.io/acme/mathison-web",
      tag: "1.4.0",
    });
    assert.deepEqual(imagesOf(plan), [
      "registry.internal:5000/mathison/pgvector/pgvector:0.8.1-pg16",
      "registry.internal:5000/mathison/library/redis:7.2.7",
      "registry.internal:5000/mathison/acme/mathison-web:1.4.0",
      "registry.internal:5000/mathison/library/mathison-worker:1.4.0",
    ]);
  });

  it("the copy source is the image with its registry spelled out", async () => {
    const { fullyQualified, mirrored } = await import("../../src/config/validate.js");
    assert.equal(fullyQualified("redis:7.2.7"), "docker.io/library/redis:7.2.7");
    assert.equal(
      fullyQualified(`localhost:5000/web@sha256:${"a".repeat(64)}`),
      `localhost:5000/web@sha256:${"a".repeat(64)}`,
    );
    assert.equal(mirrored("quay.io/org/app:1", "mirror.local"), "mirror.local/org/app:1");
  });

  it("PostgreSQL's major version from its image; a change of major is refused with what to do", async () => {
    const { immutableProblems, postgresMajor } = await import("../../src/engine/impact.js");
    assert.equal(postgresMajor("pgvector/pgvector:0.8.1-pg16"), 16);
    assert.equal(postgresMajor("pgvector/pgvector:pg15"), 15);
    assert.equal(postgresMajor("postgres:17.2"), 17);
    assert.equal(postgresMajor("mirror.local/library/postgres:16"), 16);
    assert.equal(postgresMajor("redis:7.2.7"), undefined);
    const set = (image: string) => ({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "postgres" },
      spec: { template: { spec: { containers: [{ image }] } } },
    });
    const change = (from: string, to: string) => ({
      stage: "backing" as const,
      object: "StatefulSet/postgres",
      action: "change" as const,
      fields: [],
      conflicts: [],
      desired: set(to),
      live: set(from),
    });
    assert.deepEqual(
      immutableProblems([change("pgvector/pgvector:0.8.0-pg16", "pgvector/pgvector:0.8.1-pg16")], {}),
      [],
    );
    const [problem] = immutableProblems([change("pgvector/pgvector:pg15", "pgvector/pgvector:0.8.1-pg16")], {});
    assert.match(
      problem!.allowed,
      /^PostgreSQL 15 \(pgvector\/pgvector:pg15\), the major version the data was written by: PostgreSQL 16 cannot open it\. Take a backup/,
    );
  });
});

describe("private registries", () => {
  const secretOf = (plan: ReturnType<typeof render>) =>
    allObjects(plan).find((o) => o.kind === "Secret" && o.metadata.name === "mathison-registry");
  const auths = (plan: ReturnType<typeof render>) =>
    JSON.parse(Buffer.from(secretOf(plan)!.data[".dockerconfigjson"], "base64").toString()).auths;

  it("a user and password become a pull secret for exactly the registries the images use; every pod pulls with it", () => {
    const plan = renderPlan(
      configFrom({
        webImage: "ghcr.io/acme/mathison-web",
        workerImage: "ghcr.io/acme/mathison-worker",
        registryUsername: "bot",
        registryPassword: "tok3n",
      }),
    );
    assert.deepEqual(Object.keys(auths(plan)).sort(), ["ghcr.io", "https://index.docker.io/v1/"]);
    assert.equal(auths(plan)["ghcr.io"].auth, Buffer.from("bot:tok3n").toString("base64"));
    assert.equal(secretOf(plan)!.type, "kubernetes.io/dockerconfigjson");
    const sa = allObjects(plan).find((o) => o.kind === "ServiceAccount")!;
    assert.deepEqual(sa.imagePullSecrets, [{ name: "mathison-registry" }]);
    for (const o of allObjects(plan).filter((x) => x.spec?.template?.spec)) {
      const pod = o.spec.template.spec;
      assert.ok(
        pod.serviceAccountName === "mathison" || pod.imagePullSecrets?.[0]?.name === "mathison-registry",
        `${o.kind}/${o.metadata.name}`,
      );
    }
  });

  it("a docker config keeps only the entries for the registries used; an existing Secret is only referenced", () => {
    const dockerConfig = JSON.stringify({
      auths: {
        "ghcr.io": { auth: "eA==" },
        "quay.io": { auth: "eQ==" },
        "https://index.docker.io/v1/": { auth: "eg==" },
      },
    });
    const plan = renderPlan(configFrom({ webImage: "ghcr.io/acme/web", dockerConfig }));
    assert.deepEqual(Object.keys(auths(plan)).sort(), ["ghcr.io", "https://index.docker.io/v1/"]);
    const existing = renderPlan(configFrom({ imagePullSecret: "regcred" }));
    assert.equal(secretOf(existing), undefined);
    assert.deepEqual(allObjects(existing).find((o) => o.kind === "ServiceAccount")!.imagePullSecrets, [
      { name: "regcred" },
    ]);
  });

  it("of a docker config only the entries used are kept in the install's Secret", () => {
    const dockerConfig = JSON.stringify({ auths: { "ghcr.io": { auth: "eA==" }, "quay.io": { auth: "eQ==" } } });
    const plan = renderPlan(configFrom({ webImage: "ghcr.io/acme/web", dockerConfig }));
    const kept = findObject(plan, "Secret", "mathison-secrets").data.DOCKER_CONFIG;
    assert.deepEqual(JSON.parse(Buffer.from(kept, "base64").toString()), { auths: { "ghcr.io": { auth: "eA==" } } });
  });

  it("the registry's password can be replaced on purpose, as the other secrets you supply", async () => {
    const { decideSecrets, parseReplaceSecrets } = await import("../../src/config/installed.js");
    assert.deepEqual(parseReplaceSecrets("REGISTRY_PASSWORD"), { keys: ["registryPassword"], problems: [] });
    const installed = { answers: {}, secrets: { registryPassword: "old" }, recordName: "r", secretName: "s" };
    const given = () => ({ value: "new", field: "--registry-password-file" });
    const kept = decideSecrets(installed, given, []);
    assert.equal(kept.kept.registryPassword?.value, "old", "a different one is not applied unasked");
    const replaced = decideSecrets(installed, given, ["registryPassword"]);
    assert.equal(replaced.kept.registryPassword, undefined);
    assert.equal(replaced.fallback.registryPassword, undefined, "the one given wins");
  });

  it("one way to authenticate; a user needs a password", async () => {
    const { resolveConfig } = await import("../../src/config/resolve.js");
    const src = (v: Record<string, string>) => [
      Object.fromEntries(Object.entries(v).map(([k, value]) => [k, { value, field: `--${k}` }])),
    ];
    const lonely = resolveConfig(src({ registryUsername: "bot" }));
    assert.ok(
      !lonely.ok &&
        /--registry-password-file/.test(lonely.problems[0]!.field) &&
        /needed with --registryUsername/.test(lonely.problems[0]!.allowed),
    );
    const both = resolveConfig(src({ registryUsername: "bot", registryPassword: "x", imagePullSecret: "regcred" }));
    assert.ok(!both.ok && /one way to pull from a private registry/.test(both.problems[0]!.allowed));
  });

  it("a pull refused for want of credentials names the registry and the flags", async () => {
    const { pullHint } = await import("../../src/engine/diagnose-container.js");
    assert.match(
      pullHint("ghcr.io/acme/web:1", "failed to authorize: 401 Unauthorized"),
      /^the registry ghcr.io refused the pull: give its credentials with --registry-username and --registry-password-file/,
    );
    assert.doesNotMatch(pullHint("ghcr.io/acme/web:1", "manifest unknown"), /refused the pull/);
  });
});

describe("sizing and placement", () => {
  const requestsOf = (plan: ReturnType<typeof render>) =>
    allObjects(plan)
      .filter((o) => o.spec?.template?.spec)
      .map((o) => ({
        o,
        replicas: o.kind === "Job" ? 1 : (o.spec.replicas ?? 1),
        r: o.spec.template.spec.containers[0].resources.requests,
      }));
  const milli = (cpu: string) => (cpu.endsWith("m") ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000);
  const mebi = (m: string) => (m.endsWith("Gi") ? Number(m.slice(0, -2)) * 1024 : Number(m.slice(0, -2)));

  it("--profile small fits 1 CPU and 1.5 GiB, a surge pod of web and worker included; one web replica unless asked", () => {
    const plan = render({ profile: "small" });
    assert.equal(findObject(plan, "Deployment", "mathison-web").spec.replicas, 1);
    // The Job finishes before web and worker roll: the peak is the apps with a surge pod each, beside the databases.
    const apps = requestsOf(plan).filter(({ o }) => o.kind !== "Job");
    const surge = (o: { kind: string }) => (o.kind === "Deployment" ? 1 : 0);
    const cpu = apps.reduce((n, { o, replicas, r }) => n + milli(r.cpu) * (replicas + surge(o)), 0);
    const memory = apps.reduce((n, { o, replicas, r }) => n + mebi(r.memory) * (replicas + surge(o)), 0);
    assert.ok(cpu <= 1000, `${cpu}m CPU`);
    assert.ok(memory <= 1536, `${memory}Mi`);
    assert.equal(
      render({ profile: "small", webReplicas: "2" })
        .stages.flatMap((s) => s.objects)
        .find((o) => o.metadata.name === "mathison-web" && o.kind === "Deployment")!.spec.replicas,
      2,
    );
  });

  it("node selector, tolerations and priority class go onto every pod", () => {
    const plan = render({
      nodeSelector: "pool=mathison",
      tolerations: "dedicated=mathison:NoSchedule,spot:NoExecute",
      priorityClassName: "high",
    });
    for (const { o } of requestsOf(plan)) {
      const pod = o.spec.template.spec;
      assert.deepEqual(pod.nodeSelector, { pool: "mathison" }, o.metadata.name);
      assert.deepEqual(pod.tolerations, [
        { key: "dedicated", operator: "Equal", value: "mathison", effect: "NoSchedule" },
        { key: "spot", operator: "Exists", effect: "NoExecute" },
      ]);
      assert.equal(pod.priorityClassName, "high");
    }
  });
});

describe("autoscaling and per-workload resources", () => {
  it("--web-autoscale adds a CPU autoscaler and leaves web's replicas to it", () => {
    const plan = render({ webAutoscale: "2:6" });
    const web = findObject(plan, "Deployment", "mathison-web");
    assert.equal(web.spec.replicas, undefined, "the autoscaler owns them");
    const hpa = findObject(plan, "HorizontalPodAutoscaler", "mathison-web");
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [2, 6]);
    assert.equal(hpa.spec.scaleTargetRef.name, "mathison-web");
    assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
  });

  it("requests and limits per workload win over the defaults and the profile", () => {
    const plan = render({
      profile: "small",
      postgresRequests: "cpu=300m",
      postgresLimits: "memory=2Gi",
      webLimits: "cpu=2",
    });
    const pg = findObject(plan, "StatefulSet", "postgres").spec.template.spec.containers[0].resources;
    assert.deepEqual(pg.requests, { cpu: "300m", memory: "384Mi" }, "memory from the small profile, cpu as given");
    assert.equal(pg.limits.memory, "2Gi");
    assert.equal(
      findObject(plan, "Deployment", "mathison-web").spec.template.spec.containers[0].resources.limits.cpu,
      "2",
    );
  });
});

const CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

describe("every setting does something", () => {
  // A value of each setting other than its default; a setting added to FIELDS without one here
  // fails the first test, and one that renders nothing different fails the second (a row in
  // FIELDS that resolveConfig or render forgot validates, is recorded, shows in --help, and does nothing).
  const SAMPLES: Readonly<Record<string, Record<string, string>>> = {
    namespace: { namespace: "elsewhere" },
    domain: { domain: "chat.example.org" },
    ingressClass: { ingressClass: "traefik" },
    ingressNamespace: { ingressNamespace: "traefik-system" },
    tls: { tls: "none" },
    tag: { tag: "9.9.9" },
    webImage: { webImage: "registry.example.com/web" },
    workerImage: { workerImage: "registry.example.com/worker" },
    mathisonMode: { mathisonMode: "hosted" },
    baseDomain: { baseDomain: "apps.example.org" },
    webReplicas: { webReplicas: "3" },
    storageClass: { storageClass: "fast" },
    postgresStorage: { postgresStorage: "20Gi" },
    redisStorage: { redisStorage: "2Gi" },
    imageRegistry: { imageRegistry: "mirror.example.com/m" },
    profile: { profile: "small" },
    nodeSelector: { nodeSelector: "pool=m" },
    tolerations: { tolerations: "dedicated=m:NoSchedule" },
    priorityClassName: { priorityClassName: "high" },
    affinity: { affinity: '{"nodeAffinity":{}}' },
    webAutoscale: { webAutoscale: "2:5" },
    webRequests: { webRequests: "cpu=301m,memory=301Mi" },
    webLimits: { webLimits: "cpu=2,memory=2Gi" },
    workerRequests: { workerRequests: "cpu=301m,memory=301Mi" },
    workerLimits: { workerLimits: "cpu=2,memory=2Gi" },
    postgresRequests: { postgresRequests: "cpu=301m,memory=301Mi" },
    postgresLimits: { postgresLimits: "cpu=2,memory=2Gi" },
    redisRequests: { redisRequests: "cpu=301m,memory=301Mi" },
    redisLimits: { redisLimits: "cpu=2,memory=2Gi" },
    registryUsername: { registryUsername: "robot", registryPassword: "token-of-the-robot" },
    registryPassword: { registryUsername: "robot", registryPassword: "token-of-the-robot" },
    imagePullSecret: { imagePullSecret: "regcred" },
    anthropicApiKey: { anthropicApiKey: "sk-ant-another" },
    authSecret: { authSecret: "a".repeat(40) },
    postgresPassword: { postgresPassword: "p".repeat(20) },
    postgresUrl: { postgresUrl: "postgres://app@db.example.com/m" },
    postgresSslMode: { postgresUrl: "postgres://app@db.example.com/m", postgresSslMode: "require" },
    redisUrl: { redisUrl: "rediss://cache.example.com:6380" },
    redisPassword: { redisUrl: "redis://cache.example.com", redisPassword: "r" },
    postgresCaCert: { postgresUrl: "postgres://app@db.example.com/m", postgresCaCert: CA_PEM },
    redisCaCert: { redisUrl: "rediss://cache.example.com", redisCaCert: CA_PEM },
  };
  // Settings that cannot differ from their default in what is rendered, and why.
  const NOTHING_TO_RENDER: Readonly<Record<string, string>> = {
    llmProvider: "one value is allowed (anthropic), the default",
    dockerConfig: "a file's path: its registries become the pull secret (tested with a file under private registries)",
    postgresHost: "your own PostgreSQL by its parts: loading makes --postgres-url of them (test/unit/external.test.ts)",
    postgresPort: "your own PostgreSQL by its parts: loading makes --postgres-url of them (test/unit/external.test.ts)",
    postgresDatabase:
      "your own PostgreSQL by its parts: loading makes --postgres-url of them (test/unit/external.test.ts)",
    postgresUser: "your own PostgreSQL by its parts: loading makes --postgres-url of them (test/unit/external.test.ts)",
  };
  const base = { authSecret: "b".repeat(40), postgresPassword: "q".repeat(20) };

  it("each setting has a sample value here, or a reason it renders nothing different", () => {
    for (const f of FIELDS)
      assert.ok(SAMPLES[f.key] || NOTHING_TO_RENDER[f.key], `${f.flag}: add a sample to this test`);
  });

  for (const f of FIELDS.filter((x) => SAMPLES[x.key])) {
    it(`${f.flag} changes what is rendered`, () => {
      // Against the same sample without this setting where that renders (a CA without its URL
      // does not): the difference is this setting's own, not its companion's.
      const { [f.key]: _, ...companions } = SAMPLES[f.key]!;
      let before: string;
      try {
        before = JSON.stringify(render({ ...base, ...companions }));
      } catch {
        before = JSON.stringify(render(base));
      }
      const after = JSON.stringify(render({ ...base, ...SAMPLES[f.key] }));
      assert.notEqual(after, before, `${f.flag}: the same objects with ${JSON.stringify(SAMPLES[f.key])}`);
    });
  }
});

describe("the pod a restore puts Redis's snapshot in through", () => {
  it("runs Redis's image on Redis's volume, placed and secured as Redis's own pod", () => {
    const plan = render({ nodeSelector: "pool=m", tolerations: "dedicated=m:NoSchedule" });
    const sts = findObject(plan, "StatefulSet", "redis");
    const pod = redisRestorePod(sts, plan.namespace);
    const redis = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === "redis");
    assert.equal(pod.metadata.name, "mathison-redis-restore");
    assert.equal(pod.spec.containers[0].image, redis.image);
    assert.deepEqual(pod.spec.containers[0].securityContext, redis.securityContext);
    assert.deepEqual(pod.spec.nodeSelector, { pool: "m" });
    assert.deepEqual(pod.spec.tolerations, sts.spec.template.spec.tolerations);
    assert.deepEqual(pod.spec.volumes, [{ name: "data", persistentVolumeClaim: { claimName: "data-redis-0" } }]);
    assert.equal(pod.spec.restartPolicy, "Never");
  });
});
