import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { RawSource } from "../../src/config/sources.js";
import { formatProblem } from "../../src/config/types.js";
import { externalDatabaseUrl, parsePostgresUrl, parseRedisUrl } from "../../src/config/external.js";
import { allObjects, configFrom, findObject, render } from "../helpers/plan.js";
import { renderPlan } from "../../src/render/render.js";
import { PARKED_ANNOTATION } from "../../src/render/external.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
const external = {
  postgresUrl: "postgres://app@db.example.com:6432/mathison_prod",
  postgresPassword: "p@ss:w/rd?#",
  postgresCaCert: CA,
  redisUrl: "rediss://cache.example.com:6380/2",
  redisPassword: "r&dis pw",
  redisCaCert: CA,
};
const secretValue = (plan: ReturnType<typeof render>, key: string) =>
  Buffer.from(findObject(plan, "Secret", "mathison-secrets").data[key], "base64").toString();

function problems(values: Record<string, string>, forInstall = false): string[] {
  const source: RawSource = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, { value: v, field: `--${k}` }]),
  );
  const r = resolveConfig([source], { forInstall, apiKeyMayComeLater: true });
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe("your own PostgreSQL and Redis: the URLs", () => {
  it("reads a PostgreSQL URL's parts, percent-decoded, with the default port", () => {
    assert.deepEqual(parsePostgresUrl("postgresql://my%40user@DB.Example.com/my%2Ddb"), {
      host: "db.example.com",
      port: 5432,
      database: "my-db",
      user: "my@user",
      sslMode: "verify-full",
    });
    assert.equal(parsePostgresUrl("postgres://u@[fd00::5]:5433/d")?.host, "fd00::5");
  });

  it("refuses a URL with a password, a query, another scheme, or no user or database, naming the field", () => {
    for (const [url, reason] of [
      ["postgres://app:secret@db.example.com/m", /holds a password/],
      ["postgres://app@db.example.com/m?sslmode=require", /query/],
      ["mysql://app@db.example.com/m", /scheme is mysql/],
      ["postgres://db.example.com/m", /a user and a database/],
      ["postgres://app@db.example.com/", /a user and a database/],
      ["postgres://app@bad_host/m", /host is not valid/],
    ] as const) {
      const [line, ...rest] = problems({ postgresUrl: url });
      assert.equal(rest.length, 0);
      assert.match(line!, /^--postgresUrl: /);
      assert.match(line!, reason);
      assert.doesNotMatch(line!, /secret/, "the password is not repeated");
    }
  });

  it("reads a Redis URL: TLS by its scheme, an ACL user, the database number", () => {
    assert.deepEqual(parseRedisUrl("rediss://default@cache.example.com:6380/3"), {
      tls: true,
      host: "cache.example.com",
      port: 6380,
      db: 3,
      user: "default",
    });
    assert.equal(parseRedisUrl("redis://cache.example.com/16"), undefined);
    assert.match(problems({ redisUrl: "redis://:pw@cache.example.com" })[0]!, /--redisUrl: .*holds a password/);
  });

  it("refuses by name a setting of your own database given without its URL", () => {
    const lines = problems({ postgresSslMode: "require", redisPassword: "x", redisCaCert: CA });
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^--postgresSslMode: "require" .*only with --postgres-url/);
    assert.match(lines[1]!, /^--redisPassword: \(hidden, 1 characters\).*only with --redis-url/);
    assert.match(lines[2]!, /^--redisCaCert: .*only with --redis-url/);
  });

  it("takes a companion setting at its default without its URL: a values file from `export` names every setting", () => {
    assert.deepEqual(problems({ postgresSslMode: "verify-full", redisPassword: "" }), []);
  });

  it("never generates your own PostgreSQL's password: an install without one is refused", () => {
    const lines = problems({ domain: "m.example.com", postgresUrl: external.postgresUrl }, true);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^--postgres-password-file: missing: the password of your PostgreSQL's user/);
  });

  it("refuses a CA file that holds no PEM certificate", () => {
    assert.match(
      problems({ ...external, postgresCaCert: "not a cert" })[0]!,
      /--postgresCaCert: \(hidden.*PEM certificates/,
    );
  });
});

describe("your own PostgreSQL and Redis: what is rendered", () => {
  it("runs neither database in the cluster: no StatefulSet, Service, PVC, init ConfigMap or policy of theirs, no empty stage", () => {
    const plan = render(external);
    const left = allObjects(plan).filter((o) =>
      ["postgres", "redis"].some(
        (n) => o.metadata.name.includes(n) || o.metadata.labels?.["app.kubernetes.io/name"] === n,
      ),
    );
    assert.deepEqual(
      left.map((o) => `${o.kind}/${o.metadata.name}`),
      [],
    );
    assert.deepEqual(
      plan.stages.map((s) => s.id),
      ["base", "config", "migrate", "app", "edge"],
    );
    assert.deepEqual(
      plan.stages.map((s) => s.index),
      [0, 1, 2, 3, 4],
    );
  });

  it("keeps the other one in the cluster, titled for what it runs", () => {
    const plan = render({ postgresUrl: external.postgresUrl, postgresPassword: "short" });
    const backing = plan.stages.find((s) => s.id === "backing")!;
    assert.equal(backing.title, "Redis");
    assert.deepEqual(backing.objects.map((o) => o.kind).sort(), ["Service", "Service", "StatefulSet"].sort());
    findObject(plan, "NetworkPolicy", "allow-app-to-redis");
    assert.ok(!allObjects(plan).some((o) => o.metadata.name === "allow-app-to-postgres"));
  });

  it("builds DATABASE_URL and REDIS_URL with every part percent-encoded, both in the Secret", () => {
    const plan = render(external);
    const db = secretValue(plan, "DATABASE_URL");
    assert.equal(
      db,
      "postgresql://app:p%40ss%3Aw%2Frd%3F%23@db.example.com:6432/mathison_prod?sslmode=verify-full&sslrootcert=%2Fetc%2Fmathison%2Fca%2Fpostgres-ca.crt",
    );
    const url = new URL(db);
    assert.equal(decodeURIComponent(url.password), external.postgresPassword);
    assert.equal(secretValue(plan, "REDIS_URL"), "rediss://:r%26dis%20pw@cache.example.com:6380/2");
    const cm = findObject(plan, "ConfigMap", "mathison-config");
    assert.equal(cm.data.REDIS_URL, undefined, "a URL with a password is not in the ConfigMap");
    assert.equal(cm.data.POSTGRES_HOST, "db.example.com");
    assert.equal(cm.data.POSTGRES_PORT, "6432");
    assert.equal(secretValue(plan, "POSTGRES_CA_CERT"), CA);
    assert.equal(
      externalDatabaseUrl({ ...parsePostgresUrl(external.postgresUrl)!, sslMode: "require" }, "x", false),
      "postgresql://app:x@db.example.com:6432/mathison_prod?sslmode=require",
    );
  });

  it("web, worker and the migration read REDIS_URL from the Secret and find the CA bundles where the URLs say", () => {
    const plan = render(external);
    for (const [kind, name] of [
      ["Deployment", "mathison-web"],
      ["Deployment", "mathison-worker"],
      ["Job", /^mathison-migrate-/],
    ] as const) {
      const pod = findObject(plan, kind, name).spec.template.spec;
      const c = pod.containers[0];
      assert.deepEqual(c.volumeMounts.at(-1), { name: "external-ca", mountPath: "/etc/mathison/ca", readOnly: true });
      assert.deepEqual(pod.volumes.at(-1).secret.items, [
        { key: "POSTGRES_CA_CERT", path: "postgres-ca.crt" },
        { key: "REDIS_CA_CERT", path: "redis-ca.crt" },
      ]);
      const redis = c.env.find((e: { name: string }) => e.name === "REDIS_URL");
      if (kind === "Deployment")
        assert.deepEqual(redis.valueFrom, { secretKeyRef: { name: "mathison-secrets", key: "REDIS_URL" } });
    }
  });
});

describe("your own PostgreSQL: a command through the client pod", () => {
  it("gets the password, address and CA on stdin as libpq's environment, never in argv, and the rest of stdin intact", async () => {
    const { databaseCommand } = await import("../../src/engine/database.js");
    const { spawnSync } = await import("node:child_process");
    const { Readable } = await import("node:stream");
    const own = { host: "db.example.com", port: 6432, sslMode: "verify-full", password: "p@ss w'rd\\", ca: CA };
    const d = { kube: undefined as never, namespace: "ns", pod: "client", user: "app", db: "m", own };
    // The command as the pod runs it, with the database client replaced by what it would see.
    const run = databaseCommand(
      d,
      'printf "%s|%s|%s|%s\\n" "$PGPASSWORD" "$PGHOST" "$PGPORT" "$PGSSLMODE"; cat "$PGSSLROOTCERT"; echo; head -c "$0"',
      ["10"],
      Readable.from([Buffer.from("SELECT 1;\nand more")]),
    );
    assert.equal(run.container, "postgres-client");
    assert.ok(!run.command.join(" ").includes(own.password), "the password is not in the command line");
    const chunks: Buffer[] = [];
    for await (const c of run.stdin!) chunks.push(Buffer.from(c as Buffer));
    const r = spawnSync(run.command[0]!, run.command.slice(1), { input: Buffer.concat(chunks) });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(r.stdout.toString(), `p@ss w'rd\\|db.example.com|6432|verify-full\n${CA}\nSELECT 1;\n`);
  });

  it("the install's own PostgreSQL: the command and stdin as they were", async () => {
    const { databaseCommand } = await import("../../src/engine/database.js");
    const d = { kube: undefined as never, namespace: "ns", pod: "postgres-0", user: "mathison", db: "mathison" };
    const run = databaseCommand(d, "psql", ["x"]);
    assert.deepEqual(run, { container: "postgres", command: ["sh", "-c", "psql", "x"] });
  });
});

describe("asking your own PostgreSQL", () => {
  it("looks a host name up in the cluster's DNS, never an IP address (one without a name would fail the lookup)", async () => {
    const { FakeKube } = await import("../helpers/fake-kube.js");
    const { probePostgres } = await import("../../src/engine/external-probe.js");
    const seen: string[][] = [];
    const fake = new FakeKube();
    fake.execAnswer = (_pod, command) => {
      seen.push([...command]);
      return { exitCode: 0, stdout: "150020|15.20|0.8.1|0.8.1|f|t\nmathison-probe exit 0\n", stderr: "" };
    };
    const target = (host: string) => ({
      pg: { host, port: 5432, database: "m", user: "app", sslMode: "verify-full" as const },
      password: "secret-password",
      ca: "",
    });
    const byName = await probePostgres(fake, "ns", "client", target("db.example.com"));
    const byAddress = await probePostgres(fake, "ns", "client", target("10.1.2.3"));
    assert.equal(byName.versionNum, 150020);
    assert.equal(byAddress.tls, true);
    assert.equal(seen[0]!.at(-1), "name");
    assert.equal(seen[1]!.at(-1), "address");
    assert.ok(!seen.flat().some((a) => a.includes("secret-password")), "the password is never in the command");
    assert.match(fake.stdinSeen!.toString(), /^secret-password\n/, "it comes on stdin");
  });
});

describe("your own PostgreSQL by its parts", () => {
  const load = (flags: Record<string, string>, env: Record<string, string> = {}) =>
    loadConfig({
      flags: { domain: "chat.example.com", ...flags },
      env: { MATHISON_POSTGRES_PASSWORD: "pw", ...env },
      forInstall: true,
      apiKeyMayComeLater: true,
    });
  // The parts' own lines (a refused part leaves no URL: the short password is refused for the cluster's PostgreSQL too).
  const lines = (r: ReturnType<typeof load>) =>
    r.ok ? [] : r.problems.map(formatProblem).filter((l) => l.startsWith("--postgres-"));

  it("makes the URL of host, port, database and user (5432 unless given), every part encoded; the URL is what is recorded", () => {
    const r = load({ "postgres-host": "DB.example.com", "postgres-database": "my db", "postgres-user": "app@corp" });
    assert.ok(r.ok, lines(r).join("\n"));
    assert.deepEqual(r.config.externalPostgres, {
      host: "db.example.com",
      port: 5432,
      database: "my db",
      user: "app@corp",
      sslMode: "verify-full",
    });
    assert.equal(r.chosen.postgresUrl?.value, "postgres://app%40corp@DB.example.com:5432/my%20db");
    assert.equal(r.chosen.postgresHost?.value, undefined, "the parts are not kept apart");
    const v6 = load(
      { "postgres-host": "fd00::5", "postgres-port": "6432" },
      { MATHISON_POSTGRES_DATABASE: "m", MATHISON_POSTGRES_USER: "u" },
    );
    assert.ok(v6.ok, lines(v6).join("\n"));
    assert.equal(v6.config.externalPostgres?.host, "fd00::5");
    assert.equal(v6.config.externalPostgres?.port, 6432);
  });

  it("refuses by name a missing part, a wrong one, and parts beside a URL", () => {
    assert.deepEqual(lines(load({ "postgres-host": "db.example.com", "postgres-database": "m" })), [
      "--postgres-user: missing: your own PostgreSQL by its parts needs --postgres-host, --postgres-database, --postgres-user (and --postgres-port unless 5432), or --postgres-url",
    ]);
    const port = lines(
      load({ "postgres-host": "db", "postgres-database": "m", "postgres-user": "u", "postgres-port": "70000" }),
    );
    assert.deepEqual(port, ['--postgres-port: "70000" is not allowed: a whole number from 1 to 65535']);
    const host = lines(load({ "postgres-host": "bad_host", "postgres-database": "m", "postgres-user": "u" }));
    assert.deepEqual(host, ['--postgres-host: "bad_host" is not allowed: a DNS name or an IP address']);
    const both = lines(load({ "postgres-host": "db", "postgres-url": "postgres://u@db/m" }));
    assert.equal(both.length, 1);
    assert.match(both[0]!, /^--postgres-host: "db" is not allowed: not together with --postgres-url/);
  });
});

describe("a move's parked PostgreSQL", () => {
  it("keeps the cluster's PostgreSQL beside your own, at 0 replicas and annotated, its volume template with it", () => {
    const config = configFrom({ postgresUrl: external.postgresUrl, postgresPassword: "pw" });
    const plan = renderPlan(config, undefined, { parkedPostgres: true });
    const sts = findObject(plan, "StatefulSet", "postgres");
    assert.equal(sts.spec.replicas, 0);
    assert.match(sts.metadata.annotations?.[PARKED_ANNOTATION] ?? "", /install --postgres-url "" moves it back/);
    assert.equal(sts.spec.volumeClaimTemplates[0].metadata.name, "data");
    assert.ok(findObject(plan, "NetworkPolicy", "allow-app-to-postgres"), "its policy kept");
    assert.equal(plan.stages.find((s) => s.id === "backing")?.title, "PostgreSQL (parked) and Redis");
    assert.match(secretValue(plan, "DATABASE_URL"), /@db\.example\.com:6432\/mathison_prod/, "the app uses yours");
    const notParked = renderPlan(config);
    assert.ok(!allObjects(notParked).some((o) => o.kind === "StatefulSet" && o.metadata.name === "postgres"));
  });
});
