// Second runs against the real test cluster: recorded answers, kept secrets, refusals, retries,
// prunes and the lock.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { kubectl, kubectlJson, testCluster, uniqueNamespace, type TestCluster } from "../helpers/cluster.js";
import {
  finishedJobs,
  holdLockElsewhere,
  installArgs,
  runInstaller,
  startInstaller,
  tidy,
  versions,
} from "../helpers/install.js";

const { cluster, skip } = testCluster();

/** `install --non-interactive --output json --namespace ns` and nothing else: what the record must fill in. */
const upgradeArgs = (namespace: string, ...extra: string[]) => [
  "install",
  "--non-interactive",
  "--output",
  "json",
  "--skip-verify",
  "--namespace",
  namespace,
  ...extra,
];

async function secretData(c: TestCluster, namespace: string): Promise<Record<string, string>> {
  return (await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"])).data;
}

async function record(
  c: TestCluster,
  namespace: string,
): Promise<{ answers: Record<string, string>; history: any[]; inventory: string[] }> {
  const cm = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-install"]);
  return {
    answers: parseYaml(cm.data["answers.yaml"]),
    history: parseYaml(cm.data["history.yaml"]),
    inventory: parseYaml(cm.data["inventory.yaml"]),
  };
}

/** A second KWOK node on which every container crash-loops (scripts/cluster/kwok.yaml). */
const FAULTY_NODE = `apiVersion: v1
kind: Node
metadata:
  name: kwok-node-faulty
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-faulty, kubernetes.io/os: linux, type: kwok}
status:
  allocatable: {cpu: "32", memory: 64Gi, pods: "110"}
  capacity: {cpu: "32", memory: 64Gi, pods: "110"}
`;

/** New pods go to the faulty node only: the good one is cordoned. */
async function scheduleOnFaultyNode(c: TestCluster): Promise<void> {
  assert.equal((await kubectl(c, ["apply", "-f", "-"], FAULTY_NODE)).code, 0);
  assert.equal((await kubectl(c, ["wait", "--for=condition=Ready", "node/kwok-node-faulty", "--timeout=30s"])).code, 0);
  await kubectl(c, ["uncordon", "kwok-node-faulty"]);
  await kubectl(c, ["cordon", "kwok-node-0"]);
}

/** The cause is fixed: new pods go to the good node again (the broken ones stay where they are). */
async function scheduleOnGoodNode(c: TestCluster): Promise<void> {
  await kubectl(c, ["uncordon", "kwok-node-0"]);
  await kubectl(c, ["cordon", "kwok-node-faulty"]);
}

async function removeFaultyNode(c: TestCluster): Promise<void> {
  await kubectl(c, ["uncordon", "kwok-node-0"]);
  await kubectl(c, ["delete", "node", "kwok-node-faulty", "--ignore-not-found"]);
}

const image = (d: any, i = 0) => d.spec.template.spec.containers[i].image;
const plan = (events: any[]) => events.find((e) => e.event === "plan");
const byObject = (p: any) =>
  Object.fromEntries(p.changes.map((ch: any) => [ch.object.replace(/-[0-9a-f]{10}$/, ""), ch]));

describe("second runs", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-upgrade");
  after(() => tidy(c, namespace));

  it("an upgrade given only --tag keeps every other answer and the secrets' bytes", async () => {
    const first = await runInstaller(
      c,
      installArgs(namespace, "--web-replicas", "3", "--tls", "none", "--postgres-storage", "2Gi", "--mode", "saas"),
    );
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const secretsBefore = await secretData(c, namespace);
    const run = await runInstaller(c, upgradeArgs(namespace, "--tag", "1.2.0"), { ANTHROPIC_API_KEY: "" });
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const changes = byObject(plan(run.events));
    assert.equal(changes["Deployment/mathison-web"].action, "change");
    assert.ok(changes["Deployment/mathison-web"].fields.includes("spec.template.spec.containers[0].image"));
    assert.equal(changes["Job/mathison-migrate"].action, "create");
    for (const o of [
      "Secret/mathison-secrets",
      "ConfigMap/mathison-config",
      "StatefulSet/postgres",
      "Ingress/mathison-web",
    ])
      assert.equal(changes[o].action, "unchanged", o);
    assert.deepEqual(plan(run.events).notices, []);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(image(web), "mathison-web:1.2.0");
    assert.equal(web.spec.replicas, 3);
    const ingress = await kubectlJson(c, ["-n", namespace, "get", "ingress/mathison-web"]);
    assert.equal(ingress.spec.rules[0].host, `${namespace}.e2e.test`);
    assert.equal(ingress.spec.tls, undefined, "TLS stays off");
    const cm = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-config"]);
    assert.equal(cm.data.MATHISON_MODE, "saas");
    assert.deepEqual(await secretData(c, namespace), secretsBefore);
    const rec = await record(c, namespace);
    assert.equal(rec.answers.tag, "1.2.0");
    assert.equal(rec.answers.webReplicas, "3");
    assert.deepEqual(
      rec.history.map((h) => [h.outcome, h.webImage]),
      [
        ["ok", "mathison-web:latest"],
        ["ok", "mathison-web:1.2.0"],
      ],
    );
    assert.ok(!JSON.stringify(rec).includes("sk-ant-test"), "no secret in the record");
  });

  it("an unchanged tag says it is not pulled again; --pull pulls it and rolls out", async () => {
    const same = await runInstaller(c, upgradeArgs(namespace));
    assert.equal(same.code, 0, same.stderr);
    assert.ok(
      plan(same.events).notices.some((n: string) =>
        /^mathison-web:1\.2\.0 and mathison-worker:1\.2\.0 are tags: pods keep the image they pulled; give --pull/.test(
          n,
        ),
      ),
      JSON.stringify(plan(same.events).notices),
    );
    const pulled = await runInstaller(c, upgradeArgs(namespace, "--pull"));
    assert.equal(pulled.code, 0, pulled.stderr + pulled.stdout);
    const changes = byObject(plan(pulled.events));
    assert.equal(changes["Deployment/mathison-web"].action, "change");
    assert.equal(changes["Job/mathison-migrate"].action, "create", "the migration runs for what the tag points at now");
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.template.spec.containers[0].imagePullPolicy, "Always");
    assert.ok(web.spec.template.metadata.annotations["mathison.dev/pull-token"]);
    assert.equal((await record(c, namespace)).history.at(-1).outcome, "ok");
  });

  it("a new size for a StatefulSet's volume is refused before anything is applied, naming the flag", async () => {
    const before = await versions(c, namespace);
    const run = await runInstaller(c, upgradeArgs(namespace, "--postgres-storage", "20Gi"));
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /^mathison-install: --postgres-storage: "20Gi" is not allowed: the installed size 2Gi: .*cannot change/m,
    );
    assert.equal(run.events.at(-1).outcome, "refused");
    assert.deepEqual(await versions(c, namespace), before);
  });

  it("a different ANTHROPIC_API_KEY in the environment is kept out, until --replace-secret asks for it", async () => {
    const before = await secretData(c, namespace);
    const webBefore = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    const kept = await runInstaller(c, upgradeArgs(namespace), { ANTHROPIC_API_KEY: "sk-ant-someone-else" });
    assert.equal(kept.code, 0, kept.stderr + kept.stdout);
    assert.match(
      plan(kept.events).notices.join("\n"),
      /ANTHROPIC_API_KEY: kept the installed value; the one from ANTHROPIC_API_KEY differs and was not applied \(to replace it on purpose: --replace-secret ANTHROPIC_API_KEY\)/,
    );
    assert.ok(!(kept.stdout + kept.stderr).includes("sk-ant-someone-else"), "the value is never shown");
    assert.deepEqual(await secretData(c, namespace), before);

    const replaced = await runInstaller(c, upgradeArgs(namespace, "--replace-secret", "ANTHROPIC_API_KEY"), {
      ANTHROPIC_API_KEY: "sk-ant-someone-else",
    });
    assert.equal(replaced.code, 0, replaced.stderr + replaced.stdout);
    const p = plan(replaced.events);
    assert.ok(
      p.impact.some((i: any) =>
        i.message.startsWith("Secret/mathison-secrets: ANTHROPIC_API_KEY changes (values not shown)"),
      ),
      JSON.stringify(p.impact),
    );
    const after = await secretData(c, namespace);
    assert.equal(Buffer.from(after["ANTHROPIC_API_KEY"]!, "base64").toString(), "sk-ant-someone-else");
    assert.equal(after["POSTGRES_PASSWORD"], before["POSTGRES_PASSWORD"]);
    assert.equal(after["AUTH_SECRET"], before["AUTH_SECRET"]);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    const digest = (d: any) => d.spec.template.metadata.annotations["mathison.dev/config-digest"];
    assert.notEqual(digest(web), digest(webBefore), "web rolls out to read the new key");
  });

  it("a crash-looping worker is fixed by the next upgrade: the broken old pods do not fail it", async () => {
    const broken = await runInstaller(c, upgradeArgs(namespace, "--worker-image", "kwok.invalid/crash:1"));
    assert.equal(broken.code, 5, broken.stderr + broken.stdout);
    const failed = broken.events.find((e) => e.event === "failed");
    assert.equal(failed.object, "Deployment/mathison-worker");
    assert.equal(failed.reason, "CrashLoopBackOff");
    const fixed = await runInstaller(c, upgradeArgs(namespace));
    assert.equal(fixed.code, 0, fixed.stderr + fixed.stdout);
    const worker = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-worker"]);
    assert.equal(image(worker), "mathison-worker:1.2.0", "back to the recorded image");
    assert.equal(worker.status.readyReplicas, 1);
  });

  it("shows fields another manager changed, leaves a scaled replica count alone, and sets it when given", async () => {
    assert.equal((await kubectl(c, ["-n", namespace, "scale", "deployment/mathison-web", "--replicas=4"])).code, 0);
    assert.equal(
      (
        await kubectl(c, [
          "-n",
          namespace,
          "annotate",
          "--overwrite",
          "ingress/mathison-web",
          "nginx.ingress.kubernetes.io/proxy-read-timeout=60",
        ])
      ).code,
      0,
    );
    const run = await runInstaller(c, upgradeArgs(namespace));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const owners = run.events.find((e) => e.event === "check" && e.id === "ownership");
    assert.equal(owners.status, "warn");
    assert.match(owners.message, /kubectl\S* on 1 object \(Deployment\/mathison-web\)/);
    assert.match(owners.message, /kubectl-annotate on 1 object \(Ingress\/mathison-web\)/);
    const p = plan(run.events);
    const web = byObject(p)["Deployment/mathison-web"];
    assert.match(
      web.note,
      /^replicas \(4\) are managed by kubectl\S*: left alone \(give --web-replicas to set them\)$/,
    );
    const ingress = byObject(p)["Ingress/mathison-web"];
    assert.equal(ingress.action, "change");
    assert.deepEqual(
      ingress.conflicts.map((x: any) => x.manager),
      ["kubectl-annotate"],
    );
    assert.ok(
      p.impact.some(
        (i: any) =>
          i.kind === "conflict" &&
          /proxy-read-timeout.*was changed by kubectl-annotate; this run sets it back/.test(i.message),
      ),
      JSON.stringify(p.impact),
    );
    assert.equal(
      (await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas,
      4,
      "left alone",
    );
    const ing = await kubectlJson(c, ["-n", namespace, "get", "ingress/mathison-web"]);
    assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], "300", "set back");

    const given = await runInstaller(c, upgradeArgs(namespace, "--web-replicas", "3"));
    assert.equal(given.code, 0, given.stderr + given.stdout);
    assert.ok(
      plan(given.events).impact.some((i: any) => i.message === "Deployment/mathison-web scales from 4 to 3 replicas"),
      JSON.stringify(plan(given.events).impact),
    );
    assert.equal((await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas, 3);
  });

  it("prunes what the last run applied and this one no longer renders, only if it carries Mathison's label", async () => {
    const labels = "app.kubernetes.io/part-of=mathison";
    await kubectl(c, ["-n", namespace, "create", "configmap", "mathison-legacy", "--from-literal=a=b"]);
    await kubectl(c, ["-n", namespace, "label", "configmap/mathison-legacy", labels]);
    await kubectl(c, ["-n", namespace, "create", "configmap", "someone-elses", "--from-literal=a=b"]);
    const rec = await record(c, namespace);
    const inventory = [
      ...rec.inventory,
      `v1 ConfigMap ${namespace}/mathison-legacy`,
      `v1 ConfigMap ${namespace}/someone-elses`,
    ];
    const patch = JSON.stringify({ data: { "inventory.yaml": inventory.map((i) => `- ${i}`).join("\n") } });
    assert.equal(
      (await kubectl(c, ["-n", namespace, "patch", "configmap/mathison-install", "--type", "merge", "-p", patch])).code,
      0,
    );
    const run = await runInstaller(c, upgradeArgs(namespace));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(byObject(plan(run.events))["ConfigMap/mathison-legacy"].action, "delete");
    assert.ok(
      run.events.some((e) => e.event === "apply" && e.object === "ConfigMap/mathison-legacy" && e.action === "deleted"),
    );
    assert.equal((await kubectl(c, ["-n", namespace, "get", "configmap/mathison-legacy"])).code, 1, "pruned");
    assert.equal(
      (await kubectl(c, ["-n", namespace, "get", "configmap/someone-elses"])).code,
      0,
      "not Mathison's: left alone",
    );
    assert.ok(!(await record(c, namespace)).inventory.some((i) => i.includes("mathison-legacy")));
  });
});

describe("fixes for failures outside the installer (a faulty node)", { skip }, () => {
  const c = cluster!;
  const namespaces: string[] = [];
  after(async () => {
    await removeFaultyNode(c);
    await Promise.all(namespaces.map((ns) => tidy(c, ns)));
  });

  it("a failed migration is retried by re-running the same command once its cause is fixed", async () => {
    const namespace = uniqueNamespace("e2e-retry");
    namespaces.push(namespace);
    assert.equal((await runInstaller(c, installArgs(namespace))).code, 0);
    // Every container on kwok-node-faulty crash-loops (scripts/cluster/kwok.yaml): the good image fails there.
    await scheduleOnFaultyNode(c);
    const failed = await runInstaller(c, upgradeArgs(namespace, "--tag", "1.3.0"));
    assert.equal(failed.code, 5, failed.stderr + failed.stdout);
    assert.equal(failed.events.find((e) => e.event === "failed").stage, "migrate");

    await scheduleOnGoodNode(c);
    const retried = await runInstaller(c, upgradeArgs(namespace, "--tag", "1.3.0"));
    assert.equal(retried.code, 0, retried.stderr + retried.stdout);
    const job = byObject(plan(retried.events))["Job/mathison-migrate"];
    assert.equal(job.action, "replace");
    assert.match(job.note, /did not complete|failed/);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(image(web), "mathison-web:1.3.0");
    assert.deepEqual(
      (await finishedJobs(c, namespace)).map((j) => j.status.succeeded),
      [1],
      "one Job, the retried one, completed",
    );
    await removeFaultyNode(c);
  });

  it("a crash-looping web is fixed by upgrading to a good tag: its broken pods do not fail the rollout", async () => {
    const namespace = uniqueNamespace("e2e-crashweb");
    namespaces.push(namespace);
    assert.equal((await runInstaller(c, installArgs(namespace, "--tag", "1.0.0"))).code, 0);
    await scheduleOnFaultyNode(c);
    // A restart lands the new web pods on the faulty node: they crash-loop, as a bad release would.
    assert.equal((await kubectl(c, ["-n", namespace, "rollout", "restart", "deployment/mathison-web"])).code, 0);
    for (let i = 0; ; i++) {
      const pods = await kubectlJson<{ items: any[] }>(c, [
        "-n",
        namespace,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=mathison-web",
      ]);
      if (pods.items.some((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff")) break;
      assert.ok(i < 100, "web crash-loops");
      await new Promise((r) => setTimeout(r, 100));
    }
    await scheduleOnGoodNode(c);
    const run = await runInstaller(c, upgradeArgs(namespace, "--tag", "1.0.1"));
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(image(web), "mathison-web:1.0.1");
    assert.equal(web.status.readyReplicas, 2);
  });
});

describe("one run at a time", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-lock");
  after(() => tidy(c, namespace));

  it("two runs started together: one installs, the other exits 6 having applied nothing", async () => {
    const runs = await Promise.all([runInstaller(c, installArgs(namespace)), runInstaller(c, installArgs(namespace))]);
    assert.deepEqual(runs.map((r) => r.code).sort(), [0, 6], runs.map((r) => r.stderr).join("\n---\n"));
    const loser = runs.find((r) => r.code === 6)!;
    assert.equal(loser.events.at(-1).outcome, "locked");
    assert.match(loser.stderr, /holds the install's lock: \S+@\S+ \(pid \d+|another run changed this install/);
    assert.ok(!loser.events.some((e) => e.event === "apply"), "the loser applied nothing");
    assert.deepEqual(
      (await record(c, namespace)).history.map((h) => h.outcome),
      ["ok"],
    );
    const secret = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets", "--show-managed-fields"]);
    assert.deepEqual(
      secret.metadata.managedFields.map((f: any) => f.operation),
      ["Update"],
      "one run created the Secret, none overwrote it",
    );
  });

  it("a killed run's lock on this host is taken over at once: its process is gone", async () => {
    const killed = startInstaller(c, upgradeArgs(namespace, "--tag", "1.4.0"));
    for (let i = 0; ; i++) {
      const lease = await kubectl(c, [
        "-n",
        namespace,
        "get",
        "lease/mathison-install-lock",
        "-o",
        "jsonpath={.spec.holderIdentity}",
      ]);
      if (lease.code === 0 && lease.stdout !== "") break;
      assert.ok(i < 200, "the run took the lock");
      await new Promise((r) => setTimeout(r, 50));
    }
    killed.child.kill("SIGKILL");
    await killed.result;
    const resumed = await runInstaller(c, upgradeArgs(namespace, "--tag", "1.4.0"));
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    const lock = resumed.events.find((e) => e.event === "lock");
    assert.equal(lock?.status, "took-over");
    assert.match(lock.message, new RegExp(`pid ${killed.child.pid}, since \\S+\\): its process is gone`));
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(image(web), "mathison-web:1.4.0");
    assert.equal(
      (await kubectl(c, ["-n", namespace, "get", "lease/mathison-install-lock"])).code,
      1,
      "released at the end",
    );
  });

  it("a holder on another host: refused once seen renewing, whatever its clock; taken over a lease after it stops; --lock-timeout waits for a live one", async () => {
    // Its clock an hour behind ours: a reader comparing clocks would take its lock at once.
    const holder = await holdLockElsewhere(c, namespace, undefined, -3600);
    const refused = await runInstaller(c, upgradeArgs(namespace, "--tag", "1.4.0"));
    assert.equal(refused.code, 6, refused.stderr);
    assert.match(
      refused.stderr,
      /holds the install's lock: ops@build-agent-7 \(pid 4242, context prod\) since \S+, and is still renewing it .*--lock-timeout/,
    );
    assert.ok(refused.ms < 10_000, `refused once it saw a renewal (${refused.ms} ms)`);
    // Stopped renewing (killed on its machine): the run watches one lease by its own clock, then takes over.
    await holder.stop();
    const waited = await runInstaller(c, upgradeArgs(namespace, "--tag", "1.4.0"));
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(
      waited.stderr,
      /held by ops@build-agent-7 \(pid 4242\): watching up to 15 s whether it still renews it/,
    );
    assert.ok(waited.ms >= 15_000, `waited a whole lease (${waited.ms} ms)`);
    assert.match(
      waited.events.find((e) => e.event === "lock").message,
      /ops@build-agent-7 \(pid 4242, since \S+\): it stopped renewing it/,
    );
    // A live holder and --lock-timeout: the run waits while it renews, and takes the lock a lease after it stops.
    const live = await holdLockElsewhere(c, namespace);
    setTimeout(() => void live.stop(), 4_000);
    const patient = await runInstaller(c, [...upgradeArgs(namespace, "--tag", "1.4.0"), "--lock-timeout", "40s"]);
    assert.equal(patient.code, 0, patient.stderr);
    assert.match(patient.stderr, /waiting up to 40 s \(--lock-timeout\) for it to finish/);
  });
});
