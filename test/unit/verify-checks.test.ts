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
