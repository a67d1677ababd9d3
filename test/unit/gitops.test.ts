// `export --gitops` and `secrets apply`: the files (pure) and the commands on an in-memory cluster.
// What Argo CD's and Flux's schemas and kubectl's kustomize make of the files is test/e2e/gitops.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { gitopsFiles, fluxObjects, isSecretKept, type GitopsFlavor } from "../../src/render/gitops.js";
import { stageDir } from "../../src/render/output.js";
import { assertNoSecret, runExport, type GitopsRunOptions } from "../../src/pipeline/gitops.js";
import { runSecretsApply } from "../../src/pipeline/secrets-apply.js";
import { runInstallPipeline, type PipelineOptions } from "../../src/pipeline/install.js";
import { lastSuccessfulRun } from "../../src/record/install-record.js";
import { ARGOCD_TRACKING_ANNOTATION, gitopsManagerOf, withoutGitopsMarks } from "../../src/facts/gitops.js";
import { readInstallState, writeRecord } from "../../src/record/store.js";
import { readGiven } from "../../src/config/load.js";
import { scriptFrontEnd } from "../../src/ui/script-front-end.js";
import { ExitCode } from "../../src/base/exit-codes.js";
import type { KubeObject } from "../../src/facts/objects.js";
import { REGISTRY_SECRET_NAME, SECRET_NAME } from "../../src/facts/names.js";
import { renderPlan } from "../../src/render/render.js";
import { allObjects, configFrom, render } from "../helpers/plan.js";
import { capturedIO, healthyFake, pipelineOptions } from "../helpers/fake-cluster.js";
import type { FakeKube } from "../helpers/fake-kube.js";

const REPO = { url: "https://git.example.com/infra.git", path: "clusters/prod/mathison", branch: "main" };

function files(flavor: GitopsFlavor, values: Record<string, string> = {}) {
  const rendered = render(values);
  return {
    rendered,
    files: gitopsFiles({
      rendered,
      flavor,
      repo: REPO,
      answers: { domain: "mathison.example" },
      installerVersion: "9.9.9",
    }),
  };
}

const docsOf = (content: string): KubeObject[] =>
  parseAllDocuments(content)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);

describe("export --gitops: the files", () => {
  it("the base holds every rendered object of each stage, unchanged and in order, except the two Secrets", () => {
    const { rendered, files: out } = files("kustomize");
    for (const stage of rendered.stages) {
      const file = out.find((f) => f.path === `base/${stageDir(stage)}/objects.yaml`)!;
      assert.deepEqual(
        docsOf(file.content),
        stage.objects.filter((o) => !isSecretKept(o)),
      );
    }
    assert.ok(allObjects(rendered).some(isSecretKept), "the plan has the Secret the export leaves out");
    const kustomization = docsOf(out.find((f) => f.path === "base/kustomization.yaml")!.content)[0]!;
    assert.deepEqual(kustomization["resources"], [
      "01-base",
      "02-config",
      "03-backing",
      "04-migrate",
      "05-app",
      "06-edge",
    ]);
  });

  it("no file holds a Secret or a secret value, plain or base64, with a private registry's credentials too", () => {
    const config = configFrom({
      imageRegistry: "registry.example.com/mirror",
      registryUsername: "robot",
      registryPassword: "robot-password-123",
      anthropicApiKey: "sk-ant-unit-key",
    });
    const rendered = renderPlan(config);
    assert.ok(allObjects(rendered).some((o) => o.metadata.name === REGISTRY_SECRET_NAME));
    const secrets = [
      config.secrets.authSecret,
      config.secrets.postgresPassword,
      config.secrets.anthropicApiKey,
      config.secrets.registryPassword,
    ];
    for (const flavor of ["kustomize", "argocd", "flux"] as const) {
      const out = gitopsFiles({ rendered, flavor, repo: REPO, answers: {}, installerVersion: "9.9.9" });
      assert.ok(!out.some((f) => docsOf(f.content).some((o) => o.kind === "Secret")), "a Secret in the export");
      assertNoSecret(out, secrets);
    }
  });

  it("a file with a secret value in it is refused before anything is written (plain or base64)", () => {
    const file = { path: "x.yaml", content: `value: ${Buffer.from("a-long-secret-value").toString("base64")}` };
    assert.throws(() => assertNoSecret([file], ["a-long-secret-value"]), /x\.yaml would hold a secret value/);
    assert.throws(() => assertNoSecret([{ path: "y", content: "a-long-secret-value" }], ["a-long-secret-value"]));
  });

  it("argocd: one wave per stage, the migration a Sync hook re-created per release, the Namespace and databases never pruned", () => {
    const { files: out } = files("argocd");
    const migrate = out.find((f) => f.path === "argocd/04-migrate/kustomization.yaml")!.content;
    assert.match(migrate, /argocd\.argoproj\.io\/sync-wave: "3"/);
    assert.match(migrate, /argocd\.argoproj\.io\/hook: Sync/);
    assert.match(migrate, /hook-delete-policy: BeforeHookCreation/);
    assert.match(
      out.find((f) => f.path === "argocd/01-base/kustomization.yaml")!.content,
      /kind: Namespace[\s\S]*Prune=false,Delete=false/,
    );
    assert.match(
      out.find((f) => f.path === "argocd/03-backing/kustomization.yaml")!.content,
      /kind: StatefulSet[\s\S]*Prune=false/,
    );
    const app = docsOf(out.find((f) => f.path === "argocd-application.yaml")!.content)[0]!;
    assert.equal(app["spec"].source.path, "clusters/prod/mathison/argocd");
    assert.equal(app["spec"].source.repoURL, REPO.url);
    assert.equal(app["spec"].destination.namespace, "mathison-system");
    assert.equal(app.metadata.finalizers, undefined, "deleting the Application must not delete the install");
  });

  it("flux: a GitRepository and one Kustomization per stage, each depending on the one before and waiting", () => {
    const { rendered } = files("flux");
    const objects = fluxObjects(rendered, REPO);
    assert.equal(objects[0]!.kind, "GitRepository");
    const stages = objects.slice(1);
    assert.equal(stages.length, rendered.stages.length);
    stages.forEach((k, i) => {
      assert.equal(k["spec"].wait, true);
      assert.equal(k["spec"].path, `./clusters/prod/mathison/base/${stageDir(rendered.stages[i]!)}`);
      assert.deepEqual(k["spec"].dependsOn, i === 0 ? undefined : [{ name: stages[i - 1]!.metadata.name }]);
    });
    assert.deepEqual(
      stages.filter((k) => k["spec"].prune === false).map((k) => k.metadata.name),
      ["mathison-base", "mathison-backing"],
    );
  });

  it("kustomize: the README gives the order with a wait for each workload and the migration Job", () => {
    const { rendered, files: out } = files("kustomize");
    const readme = out.find((f) => f.path === "README.md")!.content;
    const job = allObjects(rendered).find((o) => o.kind === "Job")!;
    const lines = readme.split("\n");
    const at = (s: string): number => lines.findIndex((l) => l.includes(s));
    assert.ok(at("-k base/03-backing") < at("rollout status statefulset/postgres"));
    assert.ok(at("rollout status statefulset/postgres") < at("-k base/04-migrate"));
    assert.ok(at(`wait --for=condition=complete job/${job.metadata.name}`) < at("-k base/05-app"));
    assert.ok(at("-k base/05-app") < at("-k base/06-edge"));
    // A procedure, top to bottom: the Secrets before the first stage, a check after the last; an
    // upgrade backs up before it exports; the way back and the way out are there.
    assert.ok(at("secrets apply --namespace") > 0 && at("secrets apply --namespace") < at("-k base/01-"));
    assert.ok(at("-k base/06-edge") < at("mathison-install status --namespace"));
    assert.ok(
      at("## Upgrading") < at("backup --namespace") && at("backup --namespace") < at("export --gitops . --values"),
    );
    assert.ok(at("## Rolling back") < at("restore mathison-before-upgrade.dump"));
    assert.ok(at("## Leaving GitOps") > at("## Rolling back"));
  });

  it("argocd and flux: the way out names the controller's object and install --leave-gitops", () => {
    for (const flavor of ["argocd", "flux"] as const) {
      const readme = files(flavor).files.find((f) => f.path === "README.md")!.content;
      const leaving = readme.slice(readme.indexOf("## Leaving GitOps"));
      assert.match(leaving, flavor === "argocd" ? /argocd app delete mathison\S* --cascade=false/ : /prune: false/);
      assert.match(leaving, /install --namespace \S+ --leave-gitops/);
    }
  });
});

describe("a GitOps controller, seen by the marks it leaves on what it applies", () => {
  const web = (labels: Record<string, string>, annotations: Record<string, string> = {}): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "mathison-web", namespace: "ns", labels: { app: "web", ...labels }, annotations },
  });
  it("Argo CD by its tracking annotation (its Application's namespace when apps live outside argocd's), or its instance label", () => {
    assert.deepEqual(
      gitopsManagerOf(web({}, { [ARGOCD_TRACKING_ANNOTATION]: "mathison:apps/Deployment:ns/mathison-web" })),
      {
        flavor: "argocd",
        name: "mathison",
        seenBy: `Deployment/mathison-web: annotation ${ARGOCD_TRACKING_ANNOTATION}`,
      },
    );
    const elsewhere = gitopsManagerOf(
      web({}, { [ARGOCD_TRACKING_ANNOTATION]: "team-a_mathison:apps/Deployment:ns/x" }),
    );
    assert.equal(elsewhere?.name, "mathison");
    assert.equal(elsewhere?.namespace, "team-a");
    assert.equal(gitopsManagerOf(web({ "app.kubernetes.io/instance": "mathison" }))?.flavor, "argocd");
  });
  it("Flux by kustomize-controller's labels; nothing for an object the installer applied, or kubectl (sync-wave annotations included)", () => {
    const flux = gitopsManagerOf(
      web({
        "kustomize.toolkit.fluxcd.io/name": "mathison-app",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
      }),
    );
    assert.deepEqual([flux?.flavor, flux?.name, flux?.namespace], ["flux", "mathison-app", "flux-system"]);
    assert.equal(gitopsManagerOf(web({}, { "argocd.argoproj.io/sync-wave": "5" })), undefined);
    assert.equal(gitopsManagerOf(web({})), undefined);
  });
  it("--leave-gitops's edit removes every mark and nothing else", () => {
    const marked = web(
      { "kustomize.toolkit.fluxcd.io/name": "m", "app.kubernetes.io/instance": "m" },
      { [ARGOCD_TRACKING_ANNOTATION]: "m:apps/Deployment:ns/x", keep: "me" },
    );
    const clean = withoutGitopsMarks(marked)!;
    assert.deepEqual(clean.metadata.labels, { app: "web" });
    assert.deepEqual(clean.metadata.annotations, { keep: "me" });
    assert.equal(withoutGitopsMarks(clean), undefined, "nothing to remove");
  });
});

const NS = "unit-gitops";

function runOptions(fake: FakeKube, flags: Record<string, string>): GitopsRunOptions {
  const all = { namespace: NS, ...flags };
  const env = { ANTHROPIC_API_KEY: "sk-unit-test" };
  return {
    cluster: {},
    open: () => fake,
    namespace: NS,
    lockTimeoutMs: 0,
    leaseSeconds: 1,
    flags: all,
    env,
    given: readGiven({ flags: all, env }),
  };
}

function installOptions(fake: FakeKube): PipelineOptions {
  return pipelineOptions(fake, NS, { skipPreflight: true });
}

function lines() {
  const said: string[] = [];
  return { said, out: { say: (l: string) => said.push(l), line: (l: string) => said.push(l) } };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

describe("secrets apply and export, on an in-memory cluster", () => {
  it("export before the Secret exists writes nothing and says to run secrets apply", async () => {
    const fake = healthyFake();
    const dir = join(mkdtempSync(join(tmpdir(), "gitops-")), "out");
    const { said, out } = lines();
    const code = await runExport(
      { ...runOptions(fake, { domain: "m.example" }), dir, flavor: "kustomize", repo: undefined },
      out,
    );
    assert.equal(code, ExitCode.usage);
    assert.match(said.join("\n"), /secrets apply --namespace unit-gitops/);
    assert.throws(() => readdirSync(dir));
  });

  it("secrets apply makes the namespace and Secret, keeps them on a re-run; export writes no value and changes nothing but the record's history; a controller's marks make install refuse, --leave-gitops takes it back", async () => {
    const fake = healthyFake();
    const first = lines();
    assert.equal(
      await runSecretsApply({ ...runOptions(fake, {}), replaceSecrets: [], rotateSecrets: [] }, first.out),
      0,
    );
    assert.match(first.said.join("\n"), /Secret unit-gitops\/mathison-secrets: created/);
    const before = await readInstallState(fake, NS);
    assert.ok(before.secrets.authSecret && before.secrets.postgresPassword);
    const again = lines();
    assert.equal(
      await runSecretsApply({ ...runOptions(fake, {}), replaceSecrets: [], rotateSecrets: [] }, again.out),
      0,
    );
    assert.match(again.said.join("\n"), /mathison-secrets: unchanged/);
    assert.equal(again.said.at(-1), "✔ no value changed", "one verdict, last");
    assert.equal((await readInstallState(fake, NS)).record.history.length, 0, "no install here yet: no record made");
    assert.deepEqual((await readInstallState(fake, NS)).secrets, before.secrets);

    const dir = join(mkdtempSync(join(tmpdir(), "gitops-")), "out");
    const exported = lines();
    const code = await runExport(
      { ...runOptions(fake, { domain: "m.example", tls: "none" }), dir, flavor: "argocd", repo: REPO },
      exported.out,
    );
    assert.equal(code, 0, exported.said.join("\n"));
    assert.match(
      exported.said.at(-1)!,
      /^✔ wrote \d+ files to .* \(argocd\): review and commit them; nothing in the cluster changed$/,
    );
    const text = walk(dir)
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    for (const v of Object.values(before.secrets)) {
      assert.ok(!text.includes(v!), "a secret value in the export");
      assert.ok(!text.includes(Buffer.from(v!).toString("base64")), "a base64 secret value in the export");
    }
    assert.ok(!/^kind: Secret$/m.test(text), `a Secret (${SECRET_NAME}) in the export`);
    const state = await readInstallState(fake, NS);
    assert.equal(state.gitops, undefined, "an export hands nothing over");
    assert.equal(
      state.record.answers?.domain,
      "m.example",
      "a namespace that ran nothing records what the export runs",
    );
    assert.equal(lastSuccessfulRun(state.record)?.outcome, "exported (argocd)");

    // Installed by the installer, verified, then exported again: only a line of history is added.
    const installed = await runInstallPipeline(
      installOptions(fake),
      scriptFrontEnd({
        flags: { namespace: NS },
        io: capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" }),
        format: "plain",
        replaceSecrets: [],
      }),
    );
    assert.equal(installed, ExitCode.ok);
    const recorded = (await readInstallState(fake, NS)).record;
    const verified = { ...recorded, verification: { time: "t", ok: false, failed: ["ingress-address"], warned: [] } };
    await writeRecord(fake, NS, verified);
    const reExported = await runExport(
      { ...runOptions(fake, { domain: "m.example", tls: "none", tag: "9.9.9" }), dir, flavor: "argocd", repo: REPO },
      lines().out,
    );
    assert.equal(reExported, 0);
    const afterExport = (await readInstallState(fake, NS)).record;
    assert.deepEqual(afterExport.answers, recorded.answers, "the exported tag is not what runs");
    assert.deepEqual(afterExport.verification, verified.verification);
    assert.deepEqual(afterExport.inventory, recorded.inventory);
    assert.equal(afterExport.history.length, recorded.history.length + 1);
    assert.equal(lastSuccessfulRun(afterExport)?.outcome, "ok", "what runs is the install's, not the export's");
    const rotated = lines();
    assert.equal(
      await runSecretsApply(
        { ...runOptions(fake, {}), replaceSecrets: [], rotateSecrets: ["authSecret"] },
        rotated.out,
      ),
      0,
    );
    assert.equal(rotated.said.at(-1), "✔ the Secrets' values changed", rotated.said.join("\n"));
    const withSecrets = (await readInstallState(fake, NS)).record;
    assert.equal(withSecrets.history.at(-1)?.outcome, "secrets updated", "status's last runs show it");
    assert.deepEqual(withSecrets.verification, verified.verification, "and nothing recorded is lost");
    assert.doesNotMatch(lastSuccessfulRun(afterExport)!.webImage, /9\.9\.9/);

    // Argo CD syncs it: its tracking annotation on what it applied.
    const web = (await fake.get({ apiVersion: "apps/v1", kind: "Deployment", name: "mathison-web", namespace: NS }))!;
    await fake.replace({
      ...web,
      metadata: {
        ...web.metadata,
        annotations: { [ARGOCD_TRACKING_ANNOTATION]: `mathison:apps/Deployment:${NS}/mathison-web` },
      },
    });
    const io = capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" });
    const fe = scriptFrontEnd({ flags: { namespace: NS }, io, format: "plain", replaceSecrets: [] });
    const isWrite = (r: string): boolean => /^(apply|create|replace|delete|scale) /.test(r);
    const writes = fake.requests.filter(isWrite).length;
    const refused = await runInstallPipeline(installOptions(fake), fe);
    assert.equal(refused, ExitCode.usage);
    assert.match(
      io.errors(),
      /applied by the Argo CD Application mathison \(Deployment\/mathison-web: annotation argocd\.argoproj\.io\/tracking-id\)/,
    );
    assert.match(io.errors(), /argocd app delete mathison --cascade=false/);
    assert.match(io.errors(), /install --leave-gitops/);
    assert.equal(fake.requests.filter(isWrite).length, writes, "the refused install wrote something");

    const kept = (await readInstallState(fake, NS)).secrets;
    const back = capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" });
    const taken = await runInstallPipeline(
      { ...installOptions(fake), leaveGitops: true },
      scriptFrontEnd({ flags: { namespace: NS }, io: back, format: "plain", replaceSecrets: [] }),
    );
    assert.equal(taken, ExitCode.ok, back.errors());
    assert.match(back.errors(), /marks removed from 1 objects/);
    const after = await readInstallState(fake, NS);
    assert.equal(after.gitops, undefined, "--leave-gitops hands the install back to the installer");
    assert.deepEqual(after.secrets, kept);
    const plain = await runInstallPipeline(
      installOptions(fake),
      scriptFrontEnd({
        flags: { namespace: NS },
        io: capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" }),
        format: "plain",
        replaceSecrets: [],
      }),
    );
    assert.equal(plain, ExitCode.ok, "and a plain install is no longer refused");
  });
});
