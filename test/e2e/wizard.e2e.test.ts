// The built binary in a real terminal (tmux), driven through the wizard against the test cluster.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  adminAccess,
  derivedKubeconfig,
  ingressControllerStandIn,
  kubectl,
  kubectlJson,
  testCluster,
  uniqueNamespace,
  type TestCluster,
} from "../helpers/cluster.js";
import { installArgs, runInstaller, tidy, versions } from "../helpers/install.js";
import { Terminal, tmuxMissing } from "../helpers/terminal.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { cluster, skip: noCluster } = testCluster();
const skip = noCluster || tmuxMissing();
const bin = `${process.execPath} ${join(PACKAGE_ROOT, "bin", "mathison-install.js")}`;

/** The wizard up to its end summary; the checklist that follows is driven in verify.e2e.test.ts. */
function start(c: TestCluster, args: string, env: Record<string, string> = {}): Terminal {
  return new Terminal(`${bin} install --skip-verify ${args}`, {
    KUBECONFIG: c.kubeconfig,
    PATH: process.env["PATH"] ?? "",
    ...env,
  });
}

const secretsEnv = {
  ANTHROPIC_API_KEY: "sk-ant-env",
  MATHISON_AUTH_SECRET: "a".repeat(44),
  MATHISON_POSTGRES_PASSWORD: "p".repeat(32),
};
const allFlags = (namespace: string) =>
  `--domain ${namespace}.example.com --ingress-class nginx --tls none --tag 1.0.0 --web-image mathison-web --worker-image mathison-worker --llm-provider anthropic --mode self-hosted --base-domain apps.example.com --postgres-url '' --redis-url ''`;

describe("interactive install in a terminal", { skip }, () => {
  const c = cluster!;
  const terminals: Terminal[] = [];
  // A cluster with an ingress controller: the wizard's screens as a healthy cluster shows them.
  let removeController: (() => Promise<void>) | undefined;
  before(async () => {
    removeController = await ingressControllerStandIn(c);
  });
  after(async () => {
    for (const t of terminals) t.close();
    await removeController?.();
  });

  it("walks the whole wizard, shows live progress and installs", async () => {
    const namespace = uniqueNamespace("e2e-wizard");
    after(() => tidy(c, namespace));
    const t = start(c, `--namespace ${namespace}`);
    terminals.push(t);
    await t.waitFor(/\? Domain of the web UI/);
    t.type("Not_A_Domain");
    t.send("Enter");
    await t.waitFor(/Allowed: an RFC 1123 host name/);
    t.send("C-u");
    t.type(`${namespace}.example.com`);
    t.send("Enter");
    await t.waitFor(/\? IngressClass\s*\n❯ nginx \(cluster default\)/);
    t.send("Enter");
    await t.waitFor(/\? TLS for the web UI/);
    t.send("Down", "Enter"); // "none: plain HTTP"
    await t.waitFor(/\? Image tag/);
    t.type("2.1.0");
    t.send("Enter");
    await t.waitFor(/\? Web image/);
    t.send("Enter");
    await t.waitFor(/\? Worker image/);
    t.send("Enter");
    await t.waitFor(/\? PostgreSQL: run it in the cluster, or use your own\?/);
    t.send("Enter"); // in the cluster
    await t.waitFor(/\? Redis: run it in the cluster, or use your own\?/);
    t.send("Enter");
    await t.waitFor(/\? ANTHROPIC_API_KEY/);
    t.type("sk-ant-typed-in-the-wizard");
    await t.waitFor(/\? ANTHROPIC_API_KEY •+/);
    assert.ok(!t.screen().includes("sk-ant-typed"), "the key is masked as typed");
    t.send("Enter");
    const baseDomain = await t.waitFor(/\? MATHISON_BASE_DOMAIN/);
    assert.match(baseDomain.replace(/\n/g, " "), /APP\.BASE-DOMAIN, so it needs a wildcard DNS record/);
    assert.ok(baseDomain.replace(/\n/g, "").includes(`(${namespace}.example.com)`), "defaults to the domain");
    t.send("Enter");
    await t.waitFor(/\? AUTH_SECRET/);
    t.send("Enter"); // generate
    await t.waitFor(/\? POSTGRES_PASSWORD/);
    t.send("Enter"); // generate
    const summary = await t.waitFor(/\? Install\?/);
    assert.match(summary, /URL\s+http:\/\/e2e-wizard-\w+\.example\.com/);
    assert.match(summary, /web image\s+mathison-web:2\.1\.0/);
    assert.match(summary, /ANTHROPIC_API_KEY\s+•+ \(as given\)/);
    assert.ok(!summary.includes("sk-ant-typed"));
    t.send("Enter");
    await t.waitFor(/\[\d\/6\]/);
    // The migration log pane shows while the install runs (a finished screen folds it away).
    // It shows for about a second: read the screen often.
    await t.waitFor(
      /migration log[\s\S]*All migrations have been successfully applied\./,
      20_000,
      () => t.screen(),
      10,
    );
    assert.equal(await t.exitCode(), 0, t.history());
    const screen = t.screen();
    assert.match(screen, /✔ \[6\/6\] Ingress, network policies and disruption budget/);
    assert.match(screen, /Open http:\/\/e2e-wizard-\w+\.example\.com/);
    for (const line of screen.split("\n")) assert.ok(line.length <= 80, `fits 80 columns: ${line}`);
    assert.match(screen, /Installing into|✔ \[1\/6\]/, "the whole final screen fits 24 rows");

    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.status.readyReplicas, 2);
    assert.equal(web.spec.template.spec.containers[0].image, "mathison-web:2.1.0");
    const cm = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-config"]);
    assert.equal(cm.data.AUTH_URL, `http://${namespace}.example.com`);
    const secret = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"]);
    assert.equal(Buffer.from(secret.data.ANTHROPIC_API_KEY, "base64").toString(), "sk-ant-typed-in-the-wizard");
  });

  it("with every value given, shows only the summary and the confirm", async () => {
    const namespace = uniqueNamespace("e2e-flags");
    after(() => tidy(c, namespace));
    const t = start(c, `--namespace ${namespace} ${allFlags(namespace)}`, secretsEnv);
    terminals.push(t);
    const screen = await t.waitFor(/\? Install\?/);
    assert.ok(!/\? (Domain|IngressClass|TLS|Image tag|ANTHROPIC_API_KEY|AUTH_SECRET)/.test(t.history()), t.history());
    assert.match(screen, /About to install:/);
    t.send("Enter");
    assert.equal(await t.exitCode(), 0, t.history());
  });

  it("an interactive credential plugin asks the person on the terminal first; the install proceeds", async () => {
    const namespace = uniqueNamespace("e2e-mfa");
    after(() => tidy(c, namespace));
    const admin = adminAccess(c);
    const dir = mkdtempSync(join(tmpdir(), "mathison-mfa-"));
    const plugin = join(dir, "mfa-plugin.sh");
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: {
        clientCertificateData: readFileSync(admin.cert, "utf8"),
        clientKeyData: readFileSync(admin.key, "utf8"),
      },
    });
    // As kubelogin's device code or an MFA prompt: asks on stderr, reads the answer from the terminal.
    writeFileSync(
      plugin,
      `#!/bin/sh
printf 'Enter the code shown on your phone: ' >&2
read code
[ "$code" = "424242" ] || { echo "wrong code" >&2; exit 1; }
cat <<'JSON'
${credential}
JSON
`,
    );
    chmodSync(plugin, 0o755);
    const kubeconfig = derivedKubeconfig(
      c,
      {},
      {
        "client-certificate": undefined,
        "client-key": undefined,
        exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Always" },
      },
    );
    const t = new Terminal(
      `${bin} install --skip-verify --kubeconfig ${kubeconfig} --namespace ${namespace} ${allFlags(namespace)}`,
      { PATH: process.env["PATH"] ?? "", ...secretsEnv },
    );
    terminals.push(t);
    await t.waitFor(/Enter the code shown on your phone:/);
    t.type("424242");
    t.send("Enter");
    await t.waitFor(/\? Install\?/);
    t.send("Enter");
    assert.equal(await t.exitCode(), 0, t.history());
    assert.equal((await kubectl(c, ["-n", namespace, "get", "deployment/mathison-web"])).code, 0);
  });

  it("Ctrl-C during the questions exits 130 with nothing applied", async () => {
    const namespace = uniqueNamespace("e2e-cancel");
    const t = start(c, `--namespace ${namespace}`);
    terminals.push(t);
    await t.waitFor(/\? Domain of the web UI/);
    t.send("C-c");
    assert.equal(await t.exitCode(), 130);
    assert.match(t.history(), /Cancelled: nothing was applied/);
    assert.equal((await kubectl(c, ["get", "namespace", namespace])).code, 1, "no namespace was created");
  });

  it("Ctrl-C during the apply stops, says what was applied and that a re-run resumes", async () => {
    const namespace = uniqueNamespace("e2e-interrupt");
    after(() => tidy(c, namespace));
    // A StorageClass that does not exist leaves the database claims Pending: stage 3 waits, and we interrupt it.
    const t = start(
      c,
      `--namespace ${namespace} ${allFlags(namespace)} --storage-class no-such-class --timeout 10m --skip-preflight`,
      secretsEnv,
    );
    terminals.push(t);
    await t.waitFor(/\? Install\?/);
    t.send("Enter");
    await t.waitFor(/‼ (ClaimPending|WaitingForVolume|ProvisioningFailed)/);
    t.send("C-c");
    assert.equal(await t.exitCode(), 130, t.history());
    const history = t.history().replace(/\n/g, " ");
    assert.match(history, /install stopped: interrupted/);
    assert.match(history, /\d+ of \d+ objects applied .*Re-run the same command to resume/);
    assert.match(t.history(), /^\[exit 130\]/m, "the screen's last line ends before what follows it");
  });

  it("on an existing install offers its answers; Enter throughout changes nothing", async () => {
    const namespace = uniqueNamespace("e2e-rerun");
    after(() => tidy(c, namespace));
    const installed = await runInstaller(
      c,
      installArgs(namespace, "--tag", "1.0.0", "--tls", "none", "--web-replicas", "3"),
    );
    assert.equal(installed.code, 0, installed.stderr);
    const before = await versions(c, namespace);
    const t = start(c, `--namespace ${namespace}`);
    terminals.push(t);
    const greeting = await t.waitFor(/\? Image tag for web and worker \(1\.0\.0\)/);
    // Wrapped at words (the greeting is longer than 80 columns).
    assert.match(
      greeting.replace(/\s*\n\s*/g, " "),
      new RegExp(
        `Mathison mathison-web:1\\.0\\.0 is installed in namespace ${namespace} \\(installed just now, by mathison-install`,
      ),
    );
    t.send("Enter");
    await t.waitFor(/\? Change other settings\? \(y\/N\)/);
    t.send("Enter");
    // A plan that changes nothing needs no go-ahead: said, not asked.
    const confirm = await t.waitFor(/Nothing to change: the install already matches these settings\./);
    assert.equal(await t.exitCode(), 0, t.history());
    const history = t.history();
    assert.match(history, /About to upgrade:/);
    assert.match(history, /URL\s+http:\/\/e2e-rerun-\w+\.e2e\.test {2}\[kept\]/);
    assert.match(history, /web replicas\s+3 {2}\[kept\]/);
    assert.match(history, /ANTHROPIC_API_KEY\s+•+ \(kept from the existing install\)/);
    assert.match(confirm, /nothing to change: the cluster already matches/);
    assert.ok(!/\? (Domain|IngressClass|TLS|AUTH_SECRET|Apply these changes)/.test(history), "nothing else is asked");
    assert.equal(history.split("is installed in namespace").length - 1, 1, "the install is greeted once");
    assert.match(history, /Mathison is up to date in namespace/);
    assert.deepEqual(await versions(c, namespace), before, "nothing changed");
  });
});
