import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIELDS } from "../../src/config/fields.js";
import { loadConfig } from "../../src/config/load.js";
import { databaseUrl } from "../../src/config/secrets.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "mathison-config-"));

describe("invalid values", () => {
  const bad: Record<string, string[]> = {
    namespace: ["Mathison", "-x", "a".repeat(64), "a.b"],
    domain: ["foo_bar", "https://x.example.com", "x.example.com:443", "*.example.com", "10.0.0.1"],
    ingressClass: ["Nginx", "a_b"],
    ingressNamespace: ["Ingress", "a.b"],
    tls: ["bogus", "cert-manager:", "secret:Bad_Name", "letsencrypt"],
    tag: ["-x", "a b", ".x", "t".repeat(129)],
    webImage: ["Mathison/Web", "x::y", "repo@sha256:abc", "a/b:"],
    workerImage: ["UPPER", "a b"],
    llmProvider: ["Anthropic", "1x", "openai"],
    mathisonMode: ["Self Hosted"],
    baseDomain: ["under_score.example.com"],
    webReplicas: ["0", "-1", "2.5", "many", "51"],
    storageClass: ["Fast_SSD"],
    postgresStorage: ["0", "10GB", "ten", "-5Gi"],
    redisStorage: ["1 Gi", "0Mi"],
    imageRegistry: ["https://registry.example", "Registry.Example", "registry.example/"],
    registryUsername: ["a b", "user:name"],
    imagePullSecret: ["Bad_Name", "-x"],
    profile: ["tiny", "Small"],
    nodeSelector: ["pool", "pool=a=b", "bad key=x"],
    tolerations: ["dedicated=x", "dedicated:Sometimes", "=x:NoSchedule"],
    priorityClassName: ["High_Priority"],
    affinity: ["nodeAffinity", "{}", '{"tolerations":[]}', "[1]"],
    webAutoscale: ["3", "0:2", "5:2", "1:99"],
    webRequests: ["cpu", "gpu=1", "cpu=lots"],
    webLimits: ["memory=1 Gi"],
    workerRequests: ["cpu=200m;memory=1Gi"],
    workerLimits: ["cpu=-1"],
    postgresRequests: ["memory"],
    postgresLimits: ["storage=1Gi"],
    redisRequests: ["cpu=1,,"],
    redisLimits: ["cpu=1=2"],
    postgresUrl: ["db.example.com", "postgres://db.example.com/m", "postgres://u@db.example.com/m?sslmode=require"],
    postgresSslMode: ["verify", "VERIFY-FULL"],
    postgresHost: ["bad_host", "db.example.com/x"],
    postgresPort: ["0", "70000", "x"],
    postgresDatabase: ["d".repeat(64)],
    postgresUser: ["u".repeat(64)],
    redisUrl: ["cache.example.com:6379", "http://cache.example.com", "redis://cache.example.com/99"],
  };
  for (const spec of FIELDS.filter((f) => !f.secret)) {
    const values = bad[spec.key];
    it(`${spec.flag} rejects bad values with exit 2, naming the flag and the value`, async () => {
      assert.ok(values && values.length > 0, `bad values listed for ${spec.key}`);
      for (const value of values) {
        const run = await runCli(["render", `${spec.flag}=${value}`]);
        assert.equal(run.code, 2, `${spec.flag}=${value}`);
        assert.equal(run.stdout, "", "nothing rendered");
        const line = run.stderr.split("\n")[0]!;
        assert.ok(line.startsWith(`mathison-install: ${spec.flag}: ${JSON.stringify(value)} is not allowed: `), line);
      }
    });
    it(`${spec.env} and the values file name the field they came from`, async () => {
      const value = values![0]!;
      const env = await runCli(["render"], { [spec.env]: value });
      assert.equal(env.code, 2);
      assert.match(env.stderr, new RegExp(`^mathison-install: ${spec.env}: `));
      const file = join(dir, `${spec.key}.yaml`);
      writeFileSync(file, `${spec.key}: ${JSON.stringify(value)}\n`);
      const values2 = await runCli(["render", "--values", file]);
      assert.equal(values2.code, 2);
      assert.match(values2.stderr, new RegExp(`^mathison-install: ${spec.key}.yaml: ${spec.key}: `));
    });
  }

  it("reports every problem at once, one line each", async () => {
    const run = await runCli(["render", "--domain", "x_y", "--web-replicas", "0", "--tls", "maybe"], {
      MATHISON_NAMESPACE: "BAD",
    });
    assert.equal(run.code, 2);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.filter((l) => l.includes("is not allowed")).length, 4);
  });

  it("never echoes a secret's value", async () => {
    const secretFile = join(dir, "short-password");
    writeFileSync(secretFile, "hunter2\n");
    const run = await runCli(["render", "--postgres-password-file", secretFile], {
      MATHISON_AUTH_SECRET: "tooshort-secret",
    });
    assert.equal(run.code, 2);
    assert.ok(!run.stderr.includes("hunter2") && !run.stderr.includes("tooshort-secret"), run.stderr);
    assert.match(
      run.stderr,
      /--postgres-password-file: \(hidden, 7 characters\) is not allowed: at least 16 characters/,
    );
    assert.match(run.stderr, /MATHISON_AUTH_SECRET: \(hidden, 15 characters\)/);
  });

  it("rejects unknown flags, missing flag values, unknown values keys and unreadable files", async () => {
    for (const [argv, pattern] of [
      [["render", "--bogus"], /--bogus: unknown flag/],
      [["render", "--domain"], /--domain: missing: a value/],
      [["frobnicate"], /unknown command "frobnicate": allowed/],
      [["instal"], /unknown command "instal"; did you mean install\?/],
      [["install", "--namspace", "x"], /--namspace: unknown flag for "install"; did you mean --namespace\?/],
      [["status", "--include-redis"], /--include-redis: unknown flag for "status"; it is a flag of backup/],
      [
        ["render", "--values", join(dir, "nope.yaml")],
        /--values: ".*nope.yaml" is not allowed: a readable YAML file; this one does not exist$/m,
      ],
      [
        ["render", "--anthropic-api-key-file", join(dir, "nope")],
        /--anthropic-api-key-file: .* a readable file; this one does not exist$/m,
      ],
    ] as const) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.match(run.stderr, pattern);
    }
    const file = join(dir, "unknown.yaml");
    writeFileSync(file, "domian: x.example.com\n");
    const run = await runCli(["render", "--values", file]);
    assert.match(
      run.stderr,
      /unknown.yaml: domian: \(unknown key\) is not allowed: did you mean domain\? one of namespace, domain/,
    );
  });

  it("hints name the command as the user started it: the installed bin, npx, or the checkout's script", async () => {
    assert.match((await runCli(["frobnicate"])).stderr, /try: mathison-install --help lists them/);
    assert.match(
      (await runCli(["frobnicate"], { npm_command: "exec" })).stderr,
      /try: npx mathison-install --help lists/,
    );
    const script = await runCli(["render", "--bogus"], { MATHISON_INVOKED_AS: "bash scripts/mathison-install.sh" });
    assert.match(script.stderr, /try: bash scripts\/mathison-install\.sh render --help lists the flags/);
    assert.match((await runCli(["frobnicate"])).stderr, /try: mathison-install --help/, "each run reads it anew");
  });

  it("install requires the domain", () => {
    const r = loadConfig({ flags: {}, env: {}, forInstall: true });
    assert.equal(r.ok, false);
    assert.match(JSON.stringify(!r.ok && r.problems), /--domain/);
  });
});

describe("precedence: flags > environment > values file > defaults", () => {
  const file = join(dir, "precedence.yaml");
  writeFileSync(file, "domain: values.example.com\nnamespace: from-values\nwebReplicas: 3\ningressClass: traefik\n");
  it("takes each value from the highest source that has it", () => {
    const r = loadConfig({
      flags: { values: file, domain: "flag.example.com" },
      env: { MATHISON_DOMAIN: "env.example.com", MATHISON_NAMESPACE: "from-env" },
    });
    assert.ok(r.ok);
    assert.equal(r.config.domain, "flag.example.com");
    assert.equal(r.config.namespace, "from-env");
    assert.equal(r.config.webReplicas, 3);
    assert.equal(r.config.ingressClass, "traefik");
    assert.equal(r.config.redisStorage, "1Gi");
  });
  it("an image's own tag or digest wins over --tag", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const r = loadConfig({
      flags: { tag: "1.2.3", "web-image": "ghcr.io/acme/web", "worker-image": `ghcr.io/acme/worker@${digest}` },
      env: {},
    });
    assert.ok(r.ok);
    assert.equal(r.config.webImage, "ghcr.io/acme/web:1.2.3");
    assert.equal(r.config.workerImage, `ghcr.io/acme/worker@${digest}`);
  });
});

describe("secrets", () => {
  it("generates AUTH_SECRET as 32 random bytes in base64 and a URL-safe POSTGRES_PASSWORD", () => {
    const r = loadConfig({ flags: {}, env: {} });
    assert.ok(r.ok);
    assert.equal(Buffer.from(r.config.secrets.authSecret, "base64").length, 32);
    assert.match(r.config.secrets.postgresPassword, /^[A-Za-z0-9_-]{32,}$/);
    assert.ok(Buffer.from(r.config.secrets.postgresPassword, "base64url").length >= 24);
    assert.deepEqual([...r.config.generated].sort(), ["authSecret", "postgresPassword"]);
  });
  it("keeps supplied secrets, from the environment or a file", () => {
    const file = join(dir, "auth");
    writeFileSync(file, `${"s".repeat(40)}\n`);
    const r = loadConfig({
      flags: { "auth-secret-file": file },
      env: { MATHISON_POSTGRES_PASSWORD: "p+/=@:?#%".repeat(2) },
    });
    assert.ok(r.ok);
    assert.equal(r.config.secrets.authSecret, "s".repeat(40));
    assert.equal(r.config.secrets.postgresPassword, "p+/=@:?#%".repeat(2));
    assert.deepEqual(r.config.generated, []);
  });
  it("DATABASE_URL stays a valid URL whatever the password holds", () => {
    for (const pw of ["a+b/c=d", "p@ss:w/rd?#%", "ü ñ ✓", "x".repeat(40)]) {
      const url = new URL(databaseUrl("mathison-system", pw));
      assert.equal(url.protocol, "postgresql:");
      assert.equal(url.hostname, "postgres.mathison-system.svc.cluster.local");
      assert.equal(url.port, "5432");
      assert.equal(url.pathname, "/mathison");
      assert.equal(url.username, "mathison");
      assert.equal(decodeURIComponent(url.password), pw);
    }
  });
});

describe("host names in any case", () => {
  it("a domain with capitals is used lowercased, and the run says so", () => {
    const loaded = loadConfig({ flags: { domain: "Chat.Example.com" }, env: {} });
    assert.ok(loaded.ok);
    assert.equal(loaded.config.domain, "chat.example.com");
    assert.deepEqual(loaded.notices, [
      '--domain: "Chat.Example.com" is used as "chat.example.com" (host names are case-insensitive)',
    ]);
  });
});
