// The verification checks that read the cluster and the databases, against the in-memory
// cluster: each passes on a healthy install and fails for its real reason, with a hint. (The
// network checks — DNS, TLS, /api/health — run end to end, against a stand-in controller.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runChecks, type CheckOutcome } from "../../src/checks/types.js";
import { VERIFY_CHECKS } from "../../src/checks/verify/index.js";
import { readInstallState } from "../../src/record/store.js";
import type { KubeObject } from "../../src/facts/objects.js";
import { FakeKube } from "../helpers/fake-kube.js";

const NS = "unit-verify";

function endpointSlice(service: string, ready: boolean): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${service}-abc`, namespace: NS, labels: { "kubernetes.io/service-name": service } },
    endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready } }],
  } as KubeObject;
}

/** What the databases answer, by the SQL or command they are sent (stdin for SQL, argv for redis-cli). */
function databases(fake: FakeKube, answers: { select1?: string; vector?: string; ping?: string; fail?: string }): void {
  fake.execAnswer = (pod, command) => {
    if (answers.fail && pod === "postgres-0") return { exitCode: 2, stdout: "", stderr: answers.fail };
    if (pod === "redis-0") return { exitCode: 0, stdout: `${answers.ping ?? "PONG"}\n`, stderr: "" };
    const sql = command.join(" ");
    if (/SELECT 1/.test(sql)) return { exitCode: 0, stdout: `${answers.select1 ?? "1"}\n`, stderr: "" };
    if (/pg_extension/.test(sql)) return { exitCode: 0, stdout: answers.vector ?? "0.8.1\n", stderr: "" };
    return { exitCode: 0, stdout: "", stderr: "" };
  };
}

async function outcome(id: string, fake: FakeKube): Promise<CheckOutcome> {
  const state = await readInstallState(fake, NS);
  const check = VERIFY_CHECKS.find((c) => c.id === id)!;
  const [o] = await runChecks([check], {
    kube: fake,
    state: { ...state, namespace: NS },
    answers: { domain: "m.example", tls: "none" },
    webImage: "mathison-web:1",
    workerImage: "mathison-worker:1",
    network: { resolve: new Map() },
  });
  return o!;
}

const healthy = (): FakeKube => {
  const fake = new FakeKube([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    endpointSlice("postgres", true),
    endpointSlice("redis", true),
  ]);
  databases(fake, {});
  return fake;
};

describe("verification checks against the in-memory cluster", () => {
  it("endpoints: ready endpoints for both; a Service with none fails naming it", async () => {
    assert.equal((await outcome("endpoints", healthy())).status, "pass");
    const fake = healthy();
    fake.put(endpointSlice("redis", false));
    const o = await outcome("endpoints", fake);
    assert.equal(o.status, "fail");
    assert.equal(o.message, "Service redis has no ready endpoint");
    assert.ok(o.hint);
  });

  it("postgres-query: SELECT 1 returns 1 (psql -c in a named session: no stdin left open); psql's error is named", async () => {
    const fake = healthy();
    let argv: readonly string[] = [];
    const answer = fake.execAnswer;
    fake.execAnswer = (pod, command) => {
      argv = command;
      return answer(pod, command);
    };
    const ok = await outcome("postgres-query", fake);
    assert.equal(ok.status, "pass", ok.message);
    assert.equal(ok.message, "SELECT 1 as mathison in database mathison returned 1");
    assert.equal(argv[3], "SELECT 1");
    assert.match(argv[2]!, /psql .* -c "\$0"$/);
    assert.equal(argv[4], "mathison-install verify", "the session named, so a restore can end one left behind");
    assert.equal(fake.stdinSeen, undefined);
    databases(fake, { fail: 'psql: error: connection to server on socket "/run/x" failed: No such file or directory' });
    const broken = await outcome("postgres-query", fake);
    assert.equal(broken.status, "fail");
    assert.match(
      broken.message,
      /^SELECT 1 as mathison in mathison failed: psql: error: connection to server .* \(exit 2\)$/,
    );
    assert.match(broken.hint!, /exec postgres-0 -c postgres -- psql -U mathison -d mathison/);
  });

  it("pgvector: its version when installed; absent, the image and CREATE EXTENSION named", async () => {
    const fake = healthy();
    assert.equal((await outcome("pgvector", fake)).message, "vector 0.8.1 is installed in database mathison");
    databases(fake, { vector: "" });
    const missing = await outcome("pgvector", fake);
    assert.equal(missing.status, "fail");
    assert.equal(missing.message, "the vector extension is not installed in database mathison");
    assert.match(missing.hint!, /pgvector\/pgvector.*CREATE EXTENSION vector/);
  });

  it("redis-ping: PONG passes; anything else fails with what Redis said", async () => {
    const fake = healthy();
    assert.equal((await outcome("redis-ping", fake)).status, "pass");
    databases(fake, { ping: "NOAUTH Authentication required." });
    const o = await outcome("redis-ping", fake);
    assert.equal(o.status, "fail");
    assert.match(o.message, /^PING did not get PONG: NOAUTH Authentication required\. \(exit 0\)$/);
  });

  it("service-account: the worker's permissions; one taken away is named, with the way back", async () => {
    const fake = healthy();
    assert.equal((await outcome("service-account", fake)).status, "pass");
    fake.denied = (q) => q.resource === "pods" && q.subresource === "exec";
    const o = await outcome("service-account", fake);
    assert.equal(o.status, "fail");
    assert.match(o.message, new RegExp(`^system:serviceaccount:${NS}:mathison may not create pods/exec$`));
    assert.match(o.hint!, /install to restore them/);
  });
});

describe("the workload and Ingress checks against the in-memory cluster", () => {
  const job = (status: Record<string, unknown>): KubeObject => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "mathison-migrate-abc", namespace: NS, creationTimestamp: "2026-12-06T00:00:00Z" },
    spec: { backoffLimit: 2, completions: 1 },
    status,
  });
  const jobPod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "mathison-migrate-abc-x",
      namespace: NS,
      labels: { "batch.kubernetes.io/job-name": "mathison-migrate-abc" },
    },
    status: { phase: "Succeeded" },
  };
  const deployment = (name: string, image: string, ready: number): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: { replicas: 2, template: { spec: { containers: [{ name: "c", image }] } } },
    status: { readyReplicas: ready },
  });
  const ingress = (address: boolean): KubeObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "mathison-web", namespace: NS },
    spec: { ingressClassName: "nginx" },
    status: { loadBalancer: { ingress: address ? [{ ip: "203.0.113.7" }] : [] } },
  });
  const nginx: KubeObject = { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name: "nginx" } };

  it("migration: applied in its log passes; a log that does not say so warns; a failed Job or none fails", async () => {
    const fake = healthy();
    fake.put(job({ succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }));
    fake.put(jobPod);
    fake.logsAnswer = () => "All migrations have been successfully applied.";
    assert.equal((await outcome("migration", fake)).status, "pass");
    fake.logsAnswer = () => "Prisma schema loaded";
    const quiet = await outcome("migration", fake);
    assert.equal(quiet.status, "warn");
    assert.match(quiet.message, /does not say the migrations were applied/);
    fake.put(job({ failed: 3, conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] }));
    const failed = await outcome("migration", fake);
    assert.equal(failed.status, "fail", failed.message);
    assert.match(failed.hint ?? "", /kubectl -n unit-verify logs job\/mathison-migrate-abc/);
    const none = await outcome("migration", healthy());
    assert.equal(none.status, "fail");
    assert.equal(none.message, "no migration Job in the namespace");
  });

  it("web and worker: ready at the recorded image pass; fewer ready, another image or none fail", async () => {
    const fake = healthy();
    fake.put(deployment("mathison-web", "mathison-web:1", 2));
    fake.put(deployment("mathison-worker", "mathison-worker:1", 2));
    assert.equal((await outcome("web", fake)).message, "2/2 ready, mathison-web:1");
    assert.equal((await outcome("worker", fake)).status, "pass");
    fake.put(deployment("mathison-web", "mathison-web:1", 1));
    assert.equal((await outcome("web", fake)).message, "1/2 ready (mathison-web:1)");
    fake.put(deployment("mathison-worker", "someone/else:2", 2));
    const other = await outcome("worker", fake);
    assert.equal(other.status, "fail");
    assert.equal(other.message, "runs someone/else:2, the install record says mathison-worker:1");
    assert.equal((await outcome("web", healthy())).message, "Deployment mathison-web is missing");
  });

  it("probes: none failing passes; a recent Unhealthy event on a web pod warns, naming it", async () => {
    const fake = healthy();
    assert.equal((await outcome("probes", fake)).status, "pass");
    fake.put({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "e1", namespace: NS },
      reason: "Unhealthy",
      involvedObject: { kind: "Pod", name: "mathison-web-7d9-abc" },
      message: "Readiness probe failed: HTTP 503",
      lastTimestamp: new Date().toISOString(),
    } as KubeObject);
    const o = await outcome("probes", fake);
    assert.equal(o.status, "warn");
    assert.match(
      o.message,
      /^1 probe failure in the last 10 minutes, e\.g\. mathison-web-7d9-abc: Readiness probe failed/,
    );
  });

  it("ingress-address: an address from its class's controller passes; no class, no address or no Ingress fails", async () => {
    const fake = healthy();
    fake.put(nginx);
    fake.put(ingress(true));
    assert.equal((await outcome("ingress-address", fake)).message, "served at 203.0.113.7 by class nginx");
    fake.put(ingress(false));
    const unserved = await outcome("ingress-address", fake);
    assert.equal(unserved.status, "fail");
    assert.match(unserved.message, /no ingress controller has picked this Ingress up/);
    void fake.delete({ apiVersion: "networking.k8s.io/v1", kind: "IngressClass", name: "nginx" });
    assert.equal((await outcome("ingress-address", fake)).message, "IngressClass nginx does not exist");
    assert.equal((await outcome("ingress-address", healthy())).message, "Ingress mathison-web is missing");
  });

  it("auth-url: AUTH_URL the Ingress's URL passes; another fails, saying what sign-in would break", async () => {
    const fake = healthy();
    const withHost = { ...ingress(true), spec: { ingressClassName: "nginx", rules: [{ host: "m.example" }] } };
    const config = (url: string): KubeObject => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "mathison-config", namespace: NS },
      data: { AUTH_URL: url },
    });
    fake.put(withHost);
    fake.put(config("http://m.example"));
    assert.equal((await outcome("auth-url", fake)).message, "AUTH_URL http://m.example is the Ingress URL");
    fake.put(config("https://old.example"));
    const wrong = await outcome("auth-url", fake);
    assert.equal(wrong.status, "fail");
    assert.match(wrong.message, /^AUTH_URL is https:\/\/old\.example, the Ingress serves http:\/\/m\.example/);
  });

  it("sse: ingress-nginx with the streaming annotations passes; one taken away fails; another controller warns", async () => {
    const fake = healthy();
    fake.put({ ...nginx, spec: { controller: "k8s.io/ingress-nginx" } });
    const annotated = (notes: Record<string, string>): KubeObject => ({
      ...ingress(true),
      metadata: { name: "mathison-web", namespace: NS, annotations: notes },
    });
    const all = {
      "nginx.ingress.kubernetes.io/proxy-buffering": "off",
      "nginx.ingress.kubernetes.io/proxy-read-timeout": "300",
      "nginx.ingress.kubernetes.io/proxy-send-timeout": "300",
    };
    fake.put(annotated(all));
    assert.equal((await outcome("sse", fake)).status, "pass");
    fake.put(annotated({ ...all, "nginx.ingress.kubernetes.io/proxy-buffering": "on" }));
    const buffered = await outcome("sse", fake);
    assert.equal(buffered.status, "fail");
    assert.match(buffered.message, /proxy-buffering=off/);
    fake.put({ ...nginx, spec: { controller: "traefik.io/ingress-controller" } });
    assert.equal((await outcome("sse", fake)).status, "warn");
  });
});
