// Images from anywhere: a private registry's credentials as a kept pull secret, a mirror for every
// image, and the pinned backing images an installer upgrade changes (a PostgreSQL major never).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubectl, kubectlJson, testCluster } from "../helpers/cluster.js";
import { freshNamespaces, installArgs, runInstaller } from "../helpers/install.js";

const { cluster, skip } = testCluster();

describe("images", { skip }, () => {
  const c = cluster!;
  const fresh = freshNamespaces(c);
  const dir = mkdtempSync(join(tmpdir(), "mathison-images-"));

  it("registry credentials become a kept pull secret the pods use; the password appears nowhere", async () => {
    const namespace = fresh("e2e-registry");
    const password = `reg-token-${process.pid}-s3cret`;
    const file = join(dir, "password");
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const args = installArgs(
      namespace,
      "--web-image",
      "ghcr.io/acme/mathison-web",
      "--worker-image",
      "ghcr.io/acme/mathison-worker",
    );
    const first = await runInstaller(c, [...args, "--registry-username", "bot", "--registry-password-file", file]);
    assert.equal(first.code, 0, first.stderr);
    const secret = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-registry"]);
    assert.equal(secret.type, "kubernetes.io/dockerconfigjson");
    const auths = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString()).auths;
    assert.deepEqual(Object.keys(auths).sort(), ["ghcr.io", "https://index.docker.io/v1/"]);
    assert.equal(auths["ghcr.io"].password, password);
    const sa = await kubectlJson(c, ["-n", namespace, "get", "serviceaccount/mathison"]);
    assert.deepEqual(sa.imagePullSecrets, [{ name: "mathison-registry" }]);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.template.spec.serviceAccountName, "mathison");
    const pg = await kubectlJson(c, ["-n", namespace, "get", "statefulset/postgres"]);
    assert.deepEqual(pg.spec.template.spec.imagePullSecrets, [{ name: "mathison-registry" }]);

    // A re-run without the flags keeps it byte for byte.
    const again = await runInstaller(c, args);
    assert.equal(again.code, 0, again.stderr);
    const kept = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-registry"]);
    assert.equal(kept.data[".dockerconfigjson"], secret.data[".dockerconfigjson"]);
    const record = JSON.stringify(await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-install"]));
    for (const text of [first.stdout, first.stderr, again.stdout, again.stderr, record])
      assert.ok(!text.includes(password), "never shown or recorded");
    const bundle = await runInstaller(c, ["support-bundle", "--namespace", namespace, "--dir", dir]);
    assert.equal(bundle.code, 0, bundle.stderr);
    const listing = execFileSync("tar", ["-xzOf", bundle.stdout.trim()]).toString();
    assert.ok(!listing.includes(password), "not in the support bundle");
  });

  it("--image-pull-secret names a Secret that must exist and cover the images' registries", async () => {
    const namespace = fresh("e2e-pullsecret");
    const run = await runInstaller(c, installArgs(namespace, "--image-pull-secret", "regcred"));
    assert.equal(run.code, 9, run.stderr);
    const check = run.events.find((e) => e.event === "check" && e.id === "registry");
    assert.equal(check.status, "fail");
    assert.match(check.message, /^Secret \S+\/regcred does not exist/);
    assert.match(check.hint, /kubectl -n \S+ create secret docker-registry regcred --docker-server=docker.io/);
  });

  it("--image-registry pulls all four images from the mirror", async () => {
    const namespace = fresh("e2e-mirror");
    const run = await runInstaller(
      c,
      installArgs(namespace, "--image-registry", "mirror.internal:5000/mathison", "--tag", "3.1.0"),
    );
    assert.equal(run.code, 0, run.stderr);
    const images = [];
    for (const w of [
      "statefulset/postgres",
      "statefulset/redis",
      "deployment/mathison-web",
      "deployment/mathison-worker",
    ]) {
      images.push((await kubectlJson(c, ["-n", namespace, "get", w])).spec.template.spec.containers[0].image);
    }
    assert.deepEqual(images, [
      "mirror.internal:5000/mathison/pgvector/pgvector:0.8.1-pg16",
      "mirror.internal:5000/mathison/library/redis:7.2.7",
      "mirror.internal:5000/mathison/library/mathison-web:3.1.0",
      "mirror.internal:5000/mathison/library/mathison-worker:3.1.0",
    ]);
  });

  it("an installer upgrade that changes the Redis image says so; a PostgreSQL major change is refused", async () => {
    const namespace = fresh("e2e-pinned");
    assert.equal((await runInstaller(c, installArgs(namespace))).code, 0);
    // As an older installer left them.
    await kubectl(c, [
      "-n",
      namespace,
      "set",
      "image",
      "statefulset/redis",
      "redis=redis:7.0.15",
      "--field-manager=mathison-install",
    ]);
    const plan = await runInstaller(c, installArgs(namespace, "--dry-run"));
    assert.equal(plan.code, 0, plan.stderr);
    const redis = plan.events
      .find((e) => e.event === "plan")
      .changes.find((ch: { object: string }) => ch.object === "StatefulSet/redis");
    assert.equal(redis.action, "change");
    assert.ok(redis.fields.includes("spec.template.spec.containers[0].image"), JSON.stringify(redis));
    await kubectl(c, [
      "-n",
      namespace,
      "set",
      "image",
      "statefulset/postgres",
      "postgres=pgvector/pgvector:pg15",
      "--field-manager=mathison-install",
    ]);
    const refused = await runInstaller(c, installArgs(namespace));
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /PostgreSQL 15 \(pgvector\/pgvector:pg15\), the major version the data was written by: PostgreSQL 16 cannot open it/,
    );
    assert.match(refused.stderr, /nothing was applied/);
  });

  it("a lone node with 1 CPU and 1.5 GiB: the defaults are refused with the --profile small hint, which installs; selectors and tolerations put the pods there", async () => {
    const node = `kwok-small-${process.pid}`;
    const manifest = JSON.stringify({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: node,
        annotations: { "kwok.x-k8s.io/node": "fake" },
        labels: { "kubernetes.io/hostname": node, pool: "small" },
      },
      spec: { taints: [{ key: "dedicated", value: "small", effect: "NoSchedule" }] },
      status: {
        allocatable: { cpu: "1", memory: "1536Mi", pods: "110" },
        capacity: { cpu: "1", memory: "1536Mi", pods: "110" },
      },
    });
    assert.equal((await kubectl(c, ["apply", "-f", "-"], manifest)).code, 0);
    try {
      const place = ["--node-selector", "pool=small", "--tolerations", "dedicated=small:NoSchedule"];
      const refused = await runInstaller(c, installArgs(fresh("e2e-small-no"), ...place));
      assert.equal(refused.code, 9, refused.stderr);
      const capacity = refused.events.find((e) => e.event === "check" && e.id === "capacity");
      assert.equal(capacity.status, "fail");
      assert.match(capacity.hint, /--profile small/);
      const namespace = fresh("e2e-small");
      const small = await runInstaller(c, installArgs(namespace, ...place, "--profile", "small"));
      assert.equal(small.code, 0, small.stderr);
      const pods = await kubectlJson(c, ["-n", namespace, "get", "pods"]);
      assert.ok(pods.items.length >= 4);
      for (const p of pods.items) assert.equal(p.spec.nodeName, node, `${p.metadata.name} on the small node`);
      const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
      assert.equal(web.status.readyReplicas, 1);
    } finally {
      await kubectl(c, ["delete", "node", node, "--wait=false"]);
    }
  });

  it("--web-autoscale: an autoscaler owns web's replicas, a re-run does not fight it, and the preflight says metrics are missing", async () => {
    const namespace = fresh("e2e-hpa");
    const run = await runInstaller(c, installArgs(namespace, "--web-autoscale", "2:4"));
    assert.equal(run.code, 0, run.stderr);
    const capacity = run.events.find((e) => e.event === "check" && e.id === "capacity");
    assert.equal(capacity.status, "warn");
    assert.match(capacity.message, /no resource metrics \(APIService v1beta1\.metrics\.k8s\.io\)/);
    const hpa = await kubectlJson(c, ["-n", namespace, "get", "horizontalpodautoscaler/mathison-web"]);
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [2, 4]);
    // What the autoscaler would do: the next run leaves the count alone.
    await kubectl(c, ["-n", namespace, "scale", "deployment/mathison-web", "--replicas=3"]);
    const again = await runInstaller(c, installArgs(namespace, "--web-autoscale", "2:4", "--dry-run"));
    const web = again.events
      .find((e) => e.event === "plan")
      .changes.find((ch: { object: string }) => ch.object === "Deployment/mathison-web");
    assert.ok(!web.fields.includes("spec.replicas"), JSON.stringify(web));
  });

  it("a pull the registry refuses for want of credentials fails at once, naming the registry and the flags", async () => {
    const namespace = fresh("e2e-pull-auth");
    const run = await runInstaller(
      c,
      installArgs(namespace, "--worker-image", "kwok.invalid/private:1", "--timeout", "5m"),
    );
    assert.equal(run.code, 5, run.stderr);
    const failed = run.events.find((e) => e.event === "failed");
    assert.equal(failed.object, "Deployment/mathison-worker");
    assert.match(failed.message, /401 Unauthorized/);
    assert.match(
      failed.hint,
      /^the registry kwok\.invalid refused the pull: give its credentials with --registry-username and --registry-password-file/,
    );
  });

  it("--docker-config: the pull secret holds only the entries for the images' registries", async () => {
    const namespace = fresh("e2e-docker-config");
    const file = join(dir, "config.json");
    const auth = (u: string) => ({ auth: Buffer.from(`${u}:pw`).toString("base64") });
    writeFileSync(
      file,
      JSON.stringify({
        auths: { "ghcr.io": auth("g"), "quay.io": auth("q"), "https://index.docker.io/v1/": auth("d") },
      }),
      { mode: 0o600 },
    );
    const run = await runInstaller(
      c,
      installArgs(namespace, "--web-image", "ghcr.io/acme/mathison-web", "--docker-config", file),
    );
    assert.equal(run.code, 0, run.stderr);
    const secret = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-registry"]);
    const auths = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString()).auths;
    assert.deepEqual(Object.keys(auths).sort(), ["ghcr.io", "https://index.docker.io/v1/"]);
  });

  it("--affinity goes onto every pod, beside web's own spreading", async () => {
    const namespace = fresh("e2e-affinity");
    const affinity = {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 1, preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] } },
        ],
      },
    };
    const run = await runInstaller(c, installArgs(namespace, "--affinity", JSON.stringify(affinity)));
    assert.equal(run.code, 0, run.stderr);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.deepEqual(web.spec.template.spec.affinity.nodeAffinity, affinity.nodeAffinity);
    assert.ok(web.spec.template.spec.affinity.podAntiAffinity, "web still spreads across nodes");
    const pg = await kubectlJson(c, ["-n", namespace, "get", "statefulset/postgres"]);
    assert.deepEqual(pg.spec.template.spec.affinity, affinity);
  });
});
