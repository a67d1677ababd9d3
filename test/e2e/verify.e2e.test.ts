// The verification checklist against the real test cluster: every automated check passes on a
// healthy install and fails for its real reason when that part is broken. Exec checks reach real
// PostgreSQL (with pgvector) and Redis through `pods/exec` (KWOK runs the command on the host);
// an HTTPS server with a test CA stands in for the ingress controller and the web app.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { VERIFY_CHECKS } from "../../src/checks/verify/index.js";
import { clusterScopedName } from "../../src/render/customise.js";
import { installCertManagerCrd, kubectl, kubectlJson, testCluster, uniqueNamespace } from "../helpers/cluster.js";
import { runInstaller, tidy, type InstallRun, reported } from "../helpers/install.js";
import {
  backingServers,
  makeTestCa,
  startIngressStandIn,
  type IngressStandIn,
  type TestCa,
} from "../helpers/standins.js";
import { Terminal, tmuxMissing } from "../helpers/terminal.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { cluster, skip } = testCluster();
const ADDRESS = "127.0.0.1";

const result = (run: InstallRun, id: string) => run.events.find((e) => e.event === "check" && e.id === id);
const notPassed = (run: InstallRun) =>
  Object.fromEntries(
    run.events
      .filter((e) => e.event === "check" && e.phase === "verify" && e.status !== "pass")
      .map((e) => [e.id, e.status]),
  );

describe("verify", { skip }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-verify");
  const domain = `${namespace}.e2e.test`;
  let ca: TestCa;
  let standIn: IngressStandIn;
  // The stand-in listens on a port of its own (no root, no 443): --resolve gives it, as curl's.
  const network = () => ["--resolve", `${domain}:${standIn.port}:${ADDRESS}`, "--ca-file", ca.caFile];
  const verify = (...extra: string[]) =>
    runInstaller(c, ["verify", "--namespace", namespace, "--output", "json", ...extra]);

  async function failsFor(
    id: string,
    message: RegExp,
    extra: string[] = network(),
    status = "fail",
  ): Promise<InstallRun> {
    for (let i = 0; ; i++) {
      const run = await verify(...extra);
      const r = result(run, id);
      if (r?.status === status && message.test(r.message)) {
        if (status === "fail") assert.equal(run.code, 10, run.stderr);
        assert.ok(r.hint.length > 0, "anything but a pass says what to do");
        return run;
      }
      assert.ok(i < 50, `${id} ${status}s: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  /** The Ingress's TLS Secret, created or replaced, as `kubectl create secret tls` makes it. */
  async function putTlsSecret(pem: { cert: string; key: string }): Promise<void> {
    const yaml = await kubectl(c, [
      "-n",
      namespace,
      "create",
      "secret",
      "tls",
      "mathison-tls",
      `--cert=${pem.cert}`,
      `--key=${pem.key}`,
      "--dry-run=client",
      "-o",
      "yaml",
    ]);
    assert.equal((await kubectl(c, ["apply", "-f", "-"], yaml.stdout)).code, 0);
  }

  before(async () => {
    ca = makeTestCa();
    standIn = await startIngressStandIn(ADDRESS, ca.issue("wildcard", ["*.e2e.test"], 30));
  });
  after(async () => {
    await standIn?.close();
    ca?.remove();
    await tidy(c, namespace);
  });

  it("an install ends with the automated checks: no controller has picked the Ingress up, so exit 10", async () => {
    const run = await runInstaller(c, [
      "install",
      "--non-interactive",
      "--output",
      "json",
      "--namespace",
      namespace,
      "--domain",
      domain,
    ]);
    assert.equal(run.code, 10, run.stderr);
    const applied = run.events.findIndex((e) => e.event === "stage" && e.stage === "edge" && e.status === "done");
    assert.ok(applied > 0, "the install itself succeeded");
    const checks = run.events.filter((e) => e.event === "check" && e.phase === "verify");
    assert.equal(checks.length, VERIFY_CHECKS.length);
    assert.ok(run.events.indexOf(checks[0]) > applied, "the checks come after the install");
    assert.deepEqual(notPassed(run), {
      "ingress-address": "fail",
      dns: "skip",
      "tls-certificate": "fail",
      "tls-served": "skip",
      health: "skip",
    });
    assert.match(result(run, "ingress-address").message, /^no ingress controller has picked this Ingress up/);
    assert.match(result(run, "tls-certificate").message, /^Secret mathison-tls does not exist/);
    const verified = run.events.at(-2);
    assert.equal(verified.event, "verified");
    assert.equal(verified.ok, false);
    assert.deepEqual(verified.failed, ["ingress-address", "tls-certificate"]);
    // The whole run's verdict is the last event, and agrees with the exit code.
    assert.deepEqual(
      [run.events.at(-1).event, run.events.at(-1).ok, run.events.at(-1).outcome],
      ["done", false, "verify-failed"],
    );
  });

  it("in a terminal, with no Ingress address yet: the manual items are not asked, each saying which check failed", {
    skip: tmuxMissing(),
  }, async () => {
    const bin = `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")}`;
    const t = new Terminal(`${bin} verify --namespace ${namespace}`, {
      KUBECONFIG: c.kubeconfig,
      PATH: process.env["PATH"] ?? "",
    });
    after(() => t.close());
    assert.equal(await t.exitCode(), 10, t.history());
    const history = t.history();
    assert.doesNotMatch(history, /Did it work\?/, "nothing asked: it cannot work");
    assert.match(
      history.replace(/\n\s*/g, " "),
      /– Login works through the Ingress URL \(not asked: Ingress address(, [^)]*)? failed above\)/,
    );
    assert.match(history, /manual: 0 yes, 0 no, 3 skipped/);
  });

  it("passes once a controller serves the domain with a trusted certificate", async () => {
    const pem = ca.issue("site", [domain], 30);
    await putTlsSecret(pem);
    // What an ingress controller does when it takes the Ingress.
    assert.equal(
      (
        await kubectl(c, [
          "-n",
          namespace,
          "patch",
          "ingress/mathison-web",
          "--subresource=status",
          "--type=merge",
          "-p",
          `{"status":{"loadBalancer":{"ingress":[{"ip":"${ADDRESS}"}]}}}`,
        ])
      ).code,
      0,
    );
    const run = await verify(...network());
    assert.equal(run.code, 0, JSON.stringify(run.events.filter((e) => e.status !== "pass")));
    assert.equal(result(run, "ingress-address").message, `served at ${ADDRESS} by class nginx`);
    assert.equal(result(run, "dns").message, `${domain} resolves by --resolve to ${ADDRESS}, the Ingress address`);
    assert.match(
      result(run, "tls-certificate").message,
      new RegExp(`^Secret mathison-tls holds a certificate for ${domain}, valid until`),
    );
    assert.match(
      result(run, "tls-served").message,
      new RegExp(`^${ADDRESS} serves a trusted certificate for ${domain}`),
    );
    assert.equal(
      result(run, "health").message,
      `https://${domain}:${standIn.port}/api/health (at ${ADDRESS}) answered 200`,
    );
    assert.equal(result(run, "postgres-query").message, "SELECT 1 as mathison in database mathison returned 1");
    assert.match(result(run, "pgvector").message, /^vector 0\.8\.\d+ is installed in database mathison$/);
    assert.equal(result(run, "redis-ping").message, "PING answered PONG");
    assert.equal(run.events.at(-2).event, "verified");
    // Every command's stream ends with one `done` agreeing with the exit code.
    assert.deepEqual([run.events.at(-1).event, run.events.at(-1).ok, run.events.at(-1).outcome], ["done", true, "ok"]);
    assert.equal(run.events.filter((e) => e.event === "done").length, 1);
    const status = reported(await runInstaller(c, ["status", "--namespace", namespace, "--output", "json"]));
    assert.equal(status.lastVerification.ok, true, "status shows the last verification");
  });

  it("a re-run of the install verifies at its end and exits 0", async () => {
    const run = await runInstaller(c, [
      "install",
      "--non-interactive",
      "--output",
      "json",
      "--namespace",
      namespace,
      ...network(),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(notPassed(run), {});
    assert.equal(run.events.at(-1).ok, true);
  });

  it("the network checks fail for their real reasons", async () => {
    await failsFor("dns", new RegExp(`^${domain} does not resolve`), ["--ca-file", ca.caFile]);
    await failsFor(
      "dns",
      new RegExp(`^${domain} resolves by --resolve to 127.0.0.2, but the Ingress is served at ${ADDRESS}`),
      ["--resolve", `${domain}:127.0.0.2`, "--ca-file", ca.caFile],
    );
    await failsFor("tls-served", /is not trusted here: /, ["--resolve", `${domain}:${standIn.port}:${ADDRESS}`]);
    standIn.healthStatus = 502;
    const bad = await failsFor("health", /answered 502 Bad Gateway$/);
    assert.match(result(bad, "health").hint, /no working web pod/);
    standIn.healthStatus = 200;
    const soon = ca.issue("soon", [domain], 5);
    await putTlsSecret(soon);
    const warned = await failsFor(
      "tls-certificate",
      /^the certificate in Secret mathison-tls expires in 4 days/,
      network(),
      "warn",
    );
    assert.equal(warned.code, 0, "a warning alone does not fail the verification");
    const other = ca.issue("other", ["other.example.com"], 30);
    await putTlsSecret(other);
    await failsFor(
      "tls-certificate",
      new RegExp(`^the certificate in Secret mathison-tls is for DNS:other.example.com, not ${domain}`),
    );
    // cert-manager: the Certificate its ingress-shim makes for the Ingress's TLS Secret must be Ready.
    await installCertManagerCrd(c, "Certificate");
    after(() => kubectl(c, ["delete", "crd", "certificates.cert-manager.io", "--ignore-not-found"]));
    await kubectl(c, [
      "-n",
      namespace,
      "annotate",
      "ingress/mathison-web",
      "cert-manager.io/cluster-issuer=letsencrypt",
    ]);
    await failsFor(
      "tls-certificate",
      /^cert-manager has not created Certificate mathison-tls \(ClusterIssuer letsencrypt\)/,
    );
    const certificate = (ready: string, message: string) =>
      `{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"mathison-tls","namespace":"${namespace}"},"spec":{"secretName":"mathison-tls"},"status":{"conditions":[{"type":"Ready","status":"${ready}","message":"${message}"}]}}`;
    await kubectl(c, ["apply", "-f", "-"], certificate("False", "Issuing certificate as Secret does not exist"));
    await failsFor(
      "tls-certificate",
      /^Certificate mathison-tls is not Ready: Issuing certificate as Secret does not exist/,
    );
    await kubectl(c, ["apply", "-f", "-"], certificate("True", "Certificate is up to date and has not expired"));
    const ok = await verify(...network());
    assert.equal(
      result(ok, "tls-certificate").message,
      "cert-manager's Certificate mathison-tls is Ready (ClusterIssuer letsencrypt)",
    );
    await kubectl(c, ["-n", namespace, "annotate", "ingress/mathison-web", "cert-manager.io/cluster-issuer-"]);
    const good = ca.issue("site", [domain], 30);
    await putTlsSecret(good);
  });

  it("the backing services fail for their real reasons: a stopped Redis, a stopped PostgreSQL, a missing extension", async () => {
    const backing = backingServers(c);
    backing.stopRedis();
    try {
      await failsFor("redis-ping", /^PING did not get PONG: .*(Connection refused|Could not connect)/i);
    } finally {
      backing.startRedis();
    }
    backing.stopPostgres();
    try {
      await failsFor(
        "postgres-query",
        /^SELECT 1 as mathison in mathison failed: .*(No such file or directory|could not connect|Connection refused)/i,
      );
    } finally {
      backing.startPostgres();
    }
    backing.psql("DROP EXTENSION vector");
    try {
      await failsFor("pgvector", /^the vector extension is not installed in database mathison$/);
    } finally {
      backing.psql("CREATE EXTENSION vector");
    }
    assert.equal(result(await verify(...network()), "redis-ping").status, "pass", "back when Redis is");
  });

  it("the interactive checklist after a re-run: rows, then the manual items ticked by keyboard", {
    skip: tmuxMissing(),
  }, async () => {
    const bin = `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")}`;
    const t = new Terminal(
      `${bin} install --namespace ${namespace} ${network().join(" ")}`,
      { KUBECONFIG: c.kubeconfig, PATH: process.env["PATH"] ?? "" },
      { cols: 100, rows: 50 },
    );
    after(() => t.close());
    // An upgrade offers the tag, then the other settings; Enter keeps each.
    await t.waitFor(/\? Image tag for web and worker/);
    t.send("Enter");
    await t.waitFor(/\? Change other settings\?/);
    t.send("Enter");
    // Nothing changes: no confirm; the run goes on to the checklist.
    await t.waitFor(
      /Login works through the Ingress URL[\s\S]*Did it work\? y yes · n no · s or Enter: not checked/,
      60_000,
    );
    const rows = t.screen();
    assert.match(rows, /✔ Backing services: 4 of 4 passed/);
    assert.match(rows, /✔ Ingress chain: 7 of 7 passed/);
    t.type("y");
    await t.waitFor(/✔ Login works[\s\S]*\? AI chat streams through the Ingress/);
    t.type("n");
    await t.waitFor(
      /✖ AI chat streams through the Ingress\s+an answer that arrives all at once[\s\S]*\? The worker can deploy an app via chat/,
    );
    t.type("s");
    const end = await t.waitFor(/verification failed \(chat-streams\)/);
    assert.match(end, /– The worker can deploy an app via chat \(not checked\)/);
    assert.match(end, /manual: 1 yes, 1 no, 1 skipped/);
    assert.equal(await t.exitCode(), 10);
    const status = reported(await runInstaller(c, ["status", "--namespace", namespace, "--output", "json"]));
    assert.deepEqual(status.lastVerification.failed, ["chat-streams"]);
    assert.deepEqual(status.lastVerification.manual, { login: "yes", "chat-streams": "no", "chat-deploys": "skip" });
  });

  it("`verify` at 80×24 leaves one copy of the checklist in the scrollback, and fits the screen while it asks", {
    skip: tmuxMissing(),
  }, async () => {
    const bin = `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")}`;
    const t = new Terminal(`${bin} verify --namespace ${namespace} ${network().join(" ")}`, {
      KUBECONFIG: c.kubeconfig,
      PATH: process.env["PATH"] ?? "",
    });
    after(() => t.close());
    await t.waitFor(/Did it work\?/, 60_000);
    t.type("s");
    await t.waitFor(/\? AI chat streams/);
    t.type("s");
    await t.waitFor(/\? The worker can deploy/);
    t.type("s");
    await t.exitCode();
    const history = t.history();
    const count = (s: string) => history.split(s).length - 1;
    assert.equal(count("Verification"), 1, history);
    assert.equal(count("Backing services"), 1, history);
    assert.equal(count("Login works through the Ingress URL"), 1, history);
  });

  it("the cluster checks fail for their real reasons", async () => {
    await kubectl(c, [
      "-n",
      namespace,
      "annotate",
      "--overwrite",
      "ingress/mathison-web",
      "nginx.ingress.kubernetes.io/proxy-buffering=on",
    ]);
    await failsFor("sse", /proxy-buffering=off/);
    const status = await runInstaller(c, ["status", "--namespace", namespace]);
    assert.match(status.stdout, /^Last verification: just now, failed: .*sse/m);
    await kubectl(c, [
      "-n",
      namespace,
      "patch",
      "configmap/mathison-config",
      "--type=merge",
      "-p",
      '{"data":{"AUTH_URL":"https://elsewhere.example.com"}}',
    ]);
    await failsFor(
      "auth-url",
      new RegExp(`^AUTH_URL is https://elsewhere.example.com, the Ingress serves https://${domain}`),
    );
    await kubectl(c, ["delete", `clusterrolebinding/${clusterScopedName(namespace)}`]);
    await failsFor(
      "service-account",
      /may not create namespaces; create deployments.apps; get pods\/log; create pods\/exec/,
    );
    // Another controller class: its buffering is not known here, so a warning says what to set.
    await kubectl(
      c,
      ["apply", "-f", "-"],
      '{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass","metadata":{"name":"e2e-other"},"spec":{"controller":"example.com/other-controller"}}',
    );
    after(() => kubectl(c, ["delete", "ingressclass", "e2e-other", "--ignore-not-found"]));
    await kubectl(c, [
      "-n",
      namespace,
      "patch",
      "ingress/mathison-web",
      "--type=merge",
      "-p",
      '{"spec":{"ingressClassName":"e2e-other"}}',
    ]);
    await failsFor(
      "sse",
      /^class e2e-other is not ingress-nginx: its buffering and timeouts are not known here/,
      network(),
      "warn",
    );
    await kubectl(c, ["-n", namespace, "set", "image", "deployment/mathison-web", "web=mathison-web:other"]);
    await failsFor("web", /^runs mathison-web:other, the install record says mathison-web:latest/);
    await kubectl(c, ["-n", namespace, "set", "image", "deployment/mathison-worker", "worker=mathison-worker:other"]);
    await failsFor("worker", /^runs mathison-worker:other, the install record says mathison-worker:latest/);
    // What a kubelet records when a web pod's probe fails.
    const pod = (await kubectlJson(c, ["-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name=mathison-web"]))
      .items[0].metadata.name;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await kubectl(
      c,
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${pod}.probe`, namespace },
        involvedObject: { kind: "Pod", name: pod, namespace },
        reason: "Unhealthy",
        message: "Readiness probe failed: HTTP probe failed with statuscode: 500",
        type: "Warning",
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      }),
    );
    await failsFor(
      "probes",
      new RegExp(`^1 probe failure in the last 10 minutes, e.g. ${pod}: Readiness probe failed`),
      network(),
      "warn",
    );
    await kubectl(c, ["-n", namespace, "scale", "statefulset/redis", "--replicas=0"]);
    await failsFor("endpoints", /^Service redis has no ready endpoint/);
    await kubectl(c, ["-n", namespace, "delete", "jobs", "--all"]);
    await failsFor("migration", /^no migration Job in the namespace/);
    assert.equal(
      (await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas,
      2,
      "verify changed nothing",
    );
  });

  it("bad network options: exit 2, one line naming the flag", async () => {
    const run = await runInstaller(c, ["verify", "--namespace", namespace, "--resolve", "nocolon"]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^mathison-install: --resolve: "nocolon" is not allowed: DOMAIN:ADDRESS or DOMAIN:PORT:ADDRESS/,
    );
    const ca2 = await runInstaller(c, [
      "install",
      "--non-interactive",
      "--namespace",
      namespace,
      "--ca-file",
      "/nonexistent.pem",
    ]);
    assert.equal(ca2.code, 2);
    assert.match(ca2.stderr, /--ca-file: "\/nonexistent.pem" is not allowed: ENOENT/);
  });

  it("a namespace without an install: exit 8", async () => {
    const run = await runInstaller(c, ["verify", "--namespace", uniqueNamespace("e2e-none")]);
    assert.equal(run.code, 8);
  });
});
