// `export --gitops` against the real test cluster: kubectl's own kustomize builds the export; applied
// over a running install it changes nothing; applied wave by wave (as Argo CD orders it) into a
// fresh namespace it is the install the installer makes; Argo CD's and Flux's objects pass their
// projects' CRD schemas; and status and verify see such an install as any other.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { kubectl, kubectlJson, testCluster, type TestCluster } from "../helpers/cluster.js";
import { freshNamespaces, installArgs, runInstaller, versions, reported } from "../helpers/install.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";
import { SECRET_NAME } from "../../src/facts/names.js";
import type { KubeObject } from "../../src/facts/objects.js";
import { ARGOCD_TRACKING_ANNOTATION } from "../../src/facts/gitops.js";

const { cluster, skip } = testCluster();
const REPO = "https://git.example.com/platform/clusters.git";

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

async function ok(c: TestCluster, args: string[], input?: string): Promise<string> {
  const r = await kubectl(c, args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The secret values an install holds, decoded from its Secret (read as the test's admin). */
async function secretValues(c: TestCluster, namespace: string): Promise<string[]> {
  const s = await kubectlJson(c, ["-n", namespace, "get", "secret", SECRET_NAME]);
  return Object.values(s.data as Record<string, string>)
    .map((v) => Buffer.from(v, "base64").toString())
    .filter((v) => v.length >= 8);
}

/** Pods, ReplicaSets and StatefulSet revisions by uid: what a rollout would replace. */
async function running(c: TestCluster, namespace: string): Promise<string[]> {
  const list = await kubectlJson(c, ["-n", namespace, "get", "pods,replicasets,controllerrevisions"]);
  return list.items.map((o: KubeObject) => `${o.kind}/${o.metadata.name}/${o.metadata.uid}`).sort();
}

/**
 * `kubectl apply --server-side` of documents as Argo CD applies them: its field manager, taking
 * conflicts, and its tracking annotation on each (`APP:GROUP/KIND:NAMESPACE/NAME`; the export names
 * the Application mathison-NAMESPACE).
 */
function applyAsArgoCd(c: TestCluster, docs: readonly KubeObject[]): Promise<string> {
  const tracked = docs.map((d) => {
    const ns = d.metadata.namespace ?? "";
    const group = d.apiVersion.includes("/") ? d.apiVersion.split("/")[0] : "";
    const id = `mathison-${ns}:${group}/${d.kind}:${ns}/${d.metadata.name}`;
    return {
      ...d,
      metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [ARGOCD_TRACKING_ANNOTATION]: id } },
    };
  });
  const input = tracked.map((d) => JSON.stringify(d)).join("\n");
  return ok(c, ["apply", "--server-side", "--force-conflicts", "--field-manager=argocd-controller", "-f", "-"], input);
}

async function waitFor(c: TestCluster, namespace: string, obj: KubeObject): Promise<void> {
  const ref = `${obj.kind.toLowerCase()}/${obj.metadata.name}`;
  if (obj.kind === "Job") await ok(c, ["-n", namespace, "wait", "--for=condition=complete", ref, "--timeout=120s"]);
  if (obj.kind === "Deployment" || obj.kind === "StatefulSet")
    await ok(c, ["-n", namespace, "rollout", "status", ref, "--timeout=120s"]);
}

describe("export --gitops", { skip }, () => {
  const c = cluster!;
  const fresh = freshNamespaces(c);
  const installed = fresh("e2e-gitops");
  const fromExport = fresh("e2e-gitops-new");
  const workDir = mkdtempSync(join(tmpdir(), "mathison-gitops-"));
  const exportOf = (namespace: string, ...extra: string[]) =>
    runInstaller(c, ["export", "--gitops", join(workDir, namespace), "--namespace", namespace, ...extra]);

  before(async () => {
    const run = await runInstaller(c, installArgs(installed));
    assert.equal(run.code, 0, run.stderr);
  });

  it("an export writes files and nothing else: the install is the installer's until a controller applies it, its verification kept", async () => {
    const verified = await runInstaller(c, ["verify", "--namespace", installed, "--output", "json"]);
    assert.equal(verified.code, 10, "no ingress controller here: the checklist fails on the Ingress");
    const status = async () =>
      reported(await runInstaller(c, ["status", "--namespace", installed, "--output", "json"]));
    const before = await status();
    assert.ok(before.lastVerification, "the verification is recorded");
    const run = await exportOf(installed, "--flavor", "argocd", "--repo-url", REPO, "--tag", "7.7.7");
    assert.equal(run.code, 0, run.stderr);
    const after = await status();
    assert.equal(after.gitops, null, "nothing handed over");
    assert.deepEqual(after.lastVerification, before.lastVerification);
    assert.deepEqual(after.answers, before.answers, "the exported tag is not what runs");
    assert.match(after.history.at(-1).outcome, /^exported \(argocd\)/);
    const upgraded = await runInstaller(c, installArgs(installed, "--tag", "1.0.1"));
    assert.equal(upgraded.code, 0, `an exported install, never synced, upgrades as before: ${upgraded.stderr}`);
  });

  it("the export of a running install, applied over it, changes no object and no secret; nothing in it is a secret value", async () => {
    const secretsBefore = await secretValues(c, installed);
    const run = await exportOf(installed, "--flavor", "argocd", "--repo-url", REPO, "--tag", "1.0.1");
    assert.equal(run.code, 0, run.stderr);
    const dir = join(workDir, installed);
    const text = walk(dir)
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    for (const v of secretsBefore) {
      assert.ok(!text.includes(v), "a secret value in the export");
      assert.ok(!text.includes(Buffer.from(v).toString("base64").replace(/=+$/, "")), "a base64 secret value");
    }
    const before = await versions(c, installed);
    const pods = await running(c, installed);
    // The same objects, field for field: applied as the installer's field manager, no object changes.
    await ok(c, ["apply", "--server-side", "--field-manager=mathison-install", "-k", join(dir, "base")]);
    assert.deepEqual(await versions(c, installed), before);
    // As Argo CD applies it (its own manager, the sync-wave annotations): nothing restarts, the Secret stays.
    await applyAsArgoCd(c, docsOf(await ok(c, ["kustomize", join(dir, "argocd")])));
    assert.deepEqual(await running(c, installed), pods);
    const after = await versions(c, installed);
    assert.equal(after[`Secret/${SECRET_NAME}`], before[`Secret/${SECRET_NAME}`]);
    assert.deepEqual(await secretValues(c, installed), secretsBefore);
    // secrets apply over what Argo CD applied: no value changes, so nothing to re-export.
    const secrets = await runInstaller(c, ["secrets", "apply", "--namespace", installed]);
    assert.equal(secrets.code, 0, secrets.stderr);
    assert.match(secrets.stderr, new RegExp(`Secret ${installed}/${SECRET_NAME}: unchanged`));
    assert.doesNotMatch(secrets.stderr, /export --gitops DIR again|restarted/);
  });

  it("install refuses a GitOps-managed namespace and changes nothing; status says who manages it", async () => {
    const before = await versions(c, installed);
    const run = await runInstaller(c, installArgs(installed, "--tag", "1.1.0"));
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /applied by the Argo CD Application mathison-e2e-gitops-\w+ \(ConfigMap\/mathison-config: annotation argocd\.argoproj\.io\/tracking-id\)/,
    );
    assert.match(run.stderr, /export --gitops DIR/);
    assert.deepEqual(await versions(c, installed), before);
    const status = await runInstaller(c, ["status", "--namespace", installed]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /managed by +GitOps: the Argo CD Application mathison-e2e-gitops-\w+/);
  });

  it("into a fresh namespace: secrets apply, then the export applied wave by wave is the install the installer makes", async () => {
    const secrets = await runInstaller(c, ["secrets", "apply", "--namespace", fromExport]);
    assert.equal(secrets.code, 0, secrets.stderr);
    assert.match(secrets.stderr, new RegExp(`Secret ${fromExport}/${SECRET_NAME}: created`));
    const run = await exportOf(
      fromExport,
      "--domain",
      `${fromExport}.e2e.test`,
      "--flavor",
      "argocd",
      "--repo-url",
      REPO,
    );
    assert.equal(run.code, 0, run.stderr);
    const dir = join(workDir, fromExport);
    const docs = docsOf(await ok(c, ["kustomize", join(dir, "argocd")]));
    const wave = (o: KubeObject): number => Number(o.metadata.annotations?.["argocd.argoproj.io/sync-wave"]);
    const waves = [...new Set(docs.map(wave))].sort((a, b) => a - b);
    assert.deepEqual(waves, [0, 1, 2, 3, 4, 5]);
    for (const w of waves) {
      const inWave = docs.filter((o) => wave(o) === w);
      await applyAsArgoCd(c, inWave);
      for (const o of inWave) await waitFor(c, fromExport, o);
    }
    // The installer's own server-side diff of the same answers: nothing to change.
    const diff = await kubectl(c, [
      "diff",
      "--server-side",
      "--force-conflicts",
      "--field-manager=mathison-install",
      "-k",
      join(dir, "base"),
    ]);
    assert.equal(diff.code, 0, diff.stdout + diff.stderr);
    const plan = await runInstaller(c, [
      ...installArgs(fromExport, "--dry-run", "--leave-gitops"),
      "--values",
      join(dir, "values.yaml"),
    ]);
    assert.equal(plan.code, 0, plan.stderr);
    const changes = plan.events.find((e) => e.event === "plan").changes as { object: string; action: string }[];
    assert.deepEqual(
      changes.filter((ch) => ch.action !== "unchanged"),
      [],
    );
    assert.ok(changes.length >= 20);
    // Owned by the controller but equal to what the installer applies: no field is "set back", no count "left alone".
    const impact = plan.events.find((e) => e.event === "plan").impact as { kind: string; message: string }[];
    assert.deepEqual(
      impact.filter((i) => i.kind === "conflict" || i.kind === "replicas-kept"),
      [],
    );
    const owners = plan.events.find((e) => e.event === "check" && e.id === "ownership");
    assert.match(
      owners.message,
      /^edited by other field managers: argocd-controller on \d+ objects \([^;]*, and \d+ more\)$/,
      "one clause per manager",
    );
  });

  it("kustomize flavor: the README, run top to bottom as written (secrets, the stages with their waits, the check), installs it; status passes", async () => {
    const plain = fresh("e2e-gitops-plain");
    // The export names the Secret's digest, so the Secret exists before it; the README's own
    // secrets apply then keeps it (and is the first thing it says to run).
    assert.equal((await runInstaller(c, ["secrets", "apply", "--namespace", plain])).code, 0);
    const run = await exportOf(plain, "--domain", `${plain}.e2e.test`);
    assert.equal(run.code, 0, run.stderr);
    const readme = readFileSync(join(workDir, plain, "README.md"), "utf8");
    const procedure = readme.slice(readme.indexOf("## 1."), readme.indexOf("## Upgrading"));
    const commands = [...procedure.matchAll(/```\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.trim().split("\n"));
    assert.ok(commands.length >= 12, readme);
    assert.match(commands[0]!, /^mathison-install secrets apply/);
    assert.match(commands.at(-1)!, /^mathison-install status/);
    for (const line of commands) {
      const [tool, ...args] = line.split(" ");
      const r =
        tool === "mathison-install" ? await runInstaller(c, args) : await kubectlIn(c, join(workDir, plain), args);
      assert.ok(tool === "mathison-install" || tool === "kubectl", line);
      assert.equal(r.code, 0, `${line}: ${r.stderr}`);
    }
    const status = await runInstaller(c, ["status", "--namespace", plain, "--output", "json"]);
    // Applied by a person with kubectl, not by a controller: still the installer's to change.
    assert.equal(reported(status).gitops, null);
    assert.equal(reported(status).healthy, true);
  });

  it("status and verify report the exported install as they report an installed one", async () => {
    const checks = async (namespace: string) => {
      const run = await runInstaller(c, ["verify", "--namespace", namespace, "--output", "json"]);
      return run.events
        .filter((e) => e.event === "check")
        .map((e) => `${e.id} ${e.status}`)
        .sort();
    };
    assert.deepEqual(await checks(fromExport), await checks(installed));
    const status = await runInstaller(c, ["status", "--namespace", fromExport, "--output", "json"]);
    const s = reported(status);
    assert.equal(s.state, "installed");
    assert.equal(s.gitops.flavor, "argocd");
    assert.deepEqual(
      s.workloads.map((w: { state: string }) => w.state),
      ["Ready", "Ready", "Ready", "Ready"],
    );
  });

  describe("Argo CD's and Flux's objects, against their projects' CRDs", () => {
    let crdDir = "";
    before(async () => {
      crdDir = execFileSync("bash", [join(PACKAGE_ROOT, "scripts/cluster/gitops-crds.sh")], {
        encoding: "utf8",
      }).trim();
      for (const f of ["argocd-application.yaml", "flux-kustomization.yaml", "flux-gitrepository.yaml"])
        await ok(c, ["apply", "--server-side", "-f", join(crdDir, f)]);
      await ok(c, ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
      for (const ns of ["argocd", "flux-system"]) await kubectl(c, ["create", "namespace", ns]);
    });
    // The CRDs stay for the rest of the run: deleting them leaves kubectl's cached discovery naming
    // kinds that are gone (Flux's are in the `all` category), and a later `kubectl get all` fails.
    after(async () => {
      for (const ns of ["argocd", "flux-system"]) await kubectl(c, ["delete", "namespace", ns, "--wait=false"]);
    });

    it("the Application and the GitRepository and Kustomizations pass a server-side dry run; a broken one does not", async () => {
      await ok(c, [
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        join(workDir, installed, "argocd-application.yaml"),
      ]);
      const flux = await exportOf(installed, "--flavor", "flux", "--repo-url", REPO);
      assert.equal(flux.code, 0, flux.stderr);
      const out = await ok(c, [
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        join(workDir, installed, "flux/mathison.yaml"),
      ]);
      assert.equal(out.trim().split("\n").length, 7, out);
      const broken = docsOf(readFileSync(join(workDir, installed, "flux/mathison.yaml"), "utf8"))[1]!;
      broken["spec"].dependsOn = "not-a-list";
      const refused = await kubectl(
        c,
        ["apply", "--dry-run=server", "--validate=strict", "-f", "-"],
        JSON.stringify(broken),
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /dependsOn/);
    });
  });

  it("uninstall says to delete the controller's Application first; install --leave-gitops takes the install back", async () => {
    const removal = await runInstaller(c, ["uninstall", "--namespace", fromExport, "--yes", "--output", "json"]);
    assert.equal(removal.code, 0, removal.stderr);
    const plan = removal.events.find((e) => e.event === "plan");
    assert.ok(
      plan.notices.some((n: string) =>
        /^GitOps-managed \(argocd, .*argocd app delete mathison-e2e-gitops-new-\w+ --cascade=false/.test(n),
      ),
      JSON.stringify(plan.notices),
    );
    const back = await runInstaller(c, installArgs(installed, "--leave-gitops"));
    assert.equal(back.code, 0, back.stderr);
    const status = await runInstaller(c, ["status", "--namespace", installed, "--output", "json"]);
    assert.equal(reported(status).gitops, null, "the installer manages it again");
    const again = await runInstaller(c, installArgs(installed));
    assert.equal(again.code, 0, "and a plain install is no longer refused");
  });
});

/** kubectl run in a directory (the README's relative paths), against the test cluster. */
function kubectlIn(c: TestCluster, cwd: string, args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(c.binDir, "kubectl"), ["--kubeconfig", c.kubeconfig, ...args], { cwd }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

function docsOf(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}
