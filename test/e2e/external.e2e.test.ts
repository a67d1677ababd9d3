// Your own PostgreSQL and Redis (--postgres-url, --redis-url) against the test cluster's "managed"
// servers: a second PostgreSQL and Redis on its host, TLS with a test CA, passwords checked.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kubectl, kubectlJson, testCluster, uniqueNamespace } from "../helpers/cluster.js";
import { installArgs, killedOn, runInstaller, startInstaller, tidy, reported } from "../helpers/install.js";
import { backingServers, managedServers } from "../helpers/standins.js";
import { mkdtempSync, readFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

const { cluster, skip } = testCluster();

/** A CA that did not sign the servers' certificate. */
const OTHER_CA = join(PACKAGE_ROOT, "test", "fixtures", "other-ca.crt");

describe("your own PostgreSQL and Redis", { skip }, () => {
  const c = cluster!;
  const db = `ext_e2e_${process.pid}`;
  const fresh = `ext_fresh_${process.pid}`;
  const namespaces: string[] = [];
  let m: ReturnType<typeof managedServers>;
  const ns = (prefix: string) => {
    const name = uniqueNamespace(prefix);
    namespaces.push(name);
    return name;
  };

  // A restore (as owner) leaves its tables owned by owner: the restore test has a database of its own.
  const restored = `ext_restored_${process.pid}`;
  /** A database of app's with pgvector and 500 rows, as an app that ran for a while leaves it. */
  const appDatabase = (name: string) => {
    m.admin("postgres", `CREATE DATABASE ${name} OWNER app`);
    m.admin(name, "CREATE EXTENSION vector");
    m.admin(
      name,
      "CREATE TABLE notes (id serial PRIMARY KEY, body text, embedding vector(3)); ALTER TABLE notes OWNER TO app; INSERT INTO notes (body, embedding) SELECT 'note ' || i, ARRAY[i, i * 2, i * 3]::vector FROM generate_series(1, 500) i",
    );
  };

  before(() => {
    m = managedServers(c);
    appDatabase(db);
    appDatabase(restored);
    m.admin("postgres", `CREATE DATABASE ${fresh} OWNER owner`);
  });
  after(async () => {
    for (const n of namespaces) await tidy(c, n);
    for (const name of [db, restored, fresh]) m?.admin("postgres", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  const postgresUrl = (user = "app", database = db, port = m.pgPort) =>
    `postgres://${user}@127.0.0.1:${port}/${database}`;
  const own = (over: { pg?: string[]; redis?: string[] } = {}) => [
    ...(over.pg ?? ["--postgres-url", postgresUrl(), "--postgres-ca-file", m.caFile]),
    ...(over.redis ?? ["--redis-url", `rediss://127.0.0.1:${m.redisPort}/0`, "--redis-ca-file", m.caFile]),
  ];
  const passwords = (pg = m.passwords.app, redis = m.passwords.redis) => ({
    MATHISON_POSTGRES_PASSWORD: pg,
    MATHISON_REDIS_PASSWORD: redis,
  });
  const checkOf = (events: any[], id: string) => events.find((e) => e.event === "check" && e.id === id);
  const namespaceExists = async (name: string) => (await kubectl(c, ["get", "namespace", name])).code === 0;
  const clientPodsLeft = async () =>
    (await kubectlJson(c, ["get", "pods", "-A", "-l", "app.kubernetes.io/component=database-client"])).items.filter(
      (p: any) => !p.metadata.deletionTimestamp,
    ).length;

  it("each preflight failure is caught before anything is applied, its reason named (exit 9)", async () => {
    const cases: [string, string[], Record<string, string>, string, RegExp][] = [
      [
        "a wrong password",
        own(),
        passwords("not-the-password"),
        "postgres-login",
        /password authentication failed.*\(password\)$/,
      ],
      ["a wrong Redis password", own(), passwords(undefined, "nope"), "redis-auth", /WRONGPASS.*\(password\)$/],
      [
        "a CA that did not sign the certificate",
        own({ pg: ["--postgres-url", postgresUrl(), "--postgres-ca-file", OTHER_CA] }),
        passwords(),
        "postgres-reach",
        /certificate verify failed \(tls\)$/,
      ],
      [
        "Redis's CA wrong",
        own({ redis: ["--redis-url", `rediss://127.0.0.1:${m.redisPort}/0`, "--redis-ca-file", OTHER_CA] }),
        passwords(),
        "redis-reach",
        /certificate verify failed \(tls\)$/,
      ],
      [
        "a port nothing listens on",
        own({ pg: ["--postgres-url", postgresUrl("app", db, 1), "--postgres-ca-file", m.caFile] }),
        passwords(),
        "postgres-reach",
        /127\.0\.0\.1:1\/.*Connection refused \(refused\)$/,
      ],
      [
        "a database without vector, and a user who may not create it",
        own({ pg: ["--postgres-url", postgresUrl("limited", "novector"), "--postgres-ca-file", m.caFile] }),
        passwords(m.passwords.limited),
        "postgres-vector",
        /available but not installed in novector, and limited may not create it$/,
      ],
    ];
    for (const [what, args, env, id, reason] of cases) {
      const namespace = ns("e2e-own-pf");
      const run = await runInstaller(c, installArgs(namespace, ...args), env);
      assert.equal(run.code, 9, `${what}: ${run.stderr}`);
      const check = checkOf(run.events, id);
      assert.equal(check?.status, "fail", `${what}: ${JSON.stringify(check)}`);
      assert.match(check.message, reason, what);
      assert.ok(check.hint, `${what}: a hint`);
      assert.equal(await namespaceExists(namespace), false, `${what}: nothing applied`);
      assert.ok(!run.stdout.includes(env.MATHISON_POSTGRES_PASSWORD!), "no password in the output");
    }
    assert.equal(await clientPodsLeft(), 0, "every client pod deleted");
  });

  it("Ctrl-C while the preflight asks your own database ends the run at once (exit 130) and deletes its client pod", async () => {
    // A server that takes the connection and never answers: psql waits on it.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const namespace = ns("e2e-own-int");
      const pg = ["--postgres-url", `postgres://app@127.0.0.1:${port}/${db}`, "--postgres-ca-file", m.caFile];
      const { child, result } = startInstaller(c, installArgs(namespace, ...own({ pg })), passwords());
      for (let i = 0; i < 100 && (await clientPodsLeft()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await clientPodsLeft(), 1, "the client pod runs");
      const sent = Date.now();
      child.kill("SIGINT");
      const run = await result;
      assert.equal(run.code, 130, run.stderr);
      assert.ok(Date.now() - sent < 2_000, "ended within 2 s");
      assert.equal(run.events.at(-1)?.outcome, "interrupted");
      assert.equal(await clientPodsLeft(), 0, "the client pod deleted on the way out");
      assert.equal(await namespaceExists(namespace), false, "nothing applied");
    } finally {
      silent.close();
    }
  });

  it("installs with no database StatefulSet, reaches status healthy, and leaves your data as it was", async () => {
    const namespace = ns("e2e-own");
    const before = m.checksums(db);
    const run = await runInstaller(c, installArgs(namespace, ...own()), passwords());
    assert.equal(run.code, 0, run.stderr);
    for (const id of [
      "postgres-reach",
      "postgres-login",
      "postgres-version",
      "postgres-vector",
      "redis-reach",
      "redis-auth",
    ])
      assert.equal(checkOf(run.events, id)?.status, "pass", id);
    const kinds = await kubectlJson(c, ["-n", namespace, "get", "statefulset,pvc,service", "-o", "json"]);
    assert.deepEqual(
      kinds.items.map((o: any) => `${o.kind}/${o.metadata.name}`),
      ["Service/mathison-web"],
      "no PostgreSQL or Redis of the install's own",
    );
    const secret = (await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"])).data;
    const url = new URL(Buffer.from(secret.DATABASE_URL, "base64").toString());
    assert.equal(decodeURIComponent(url.password), m.passwords.app);
    assert.equal(url.searchParams.get("sslmode"), "verify-full");
    const redisUrl = new URL(Buffer.from(secret.REDIS_URL, "base64").toString());
    assert.equal(decodeURIComponent(redisUrl.password), m.passwords.redis, "every part percent-encoded");
    const status = await runInstaller(c, ["status", "--namespace", namespace, "--output", "json"]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(reported(status).healthy, true);
    const verify = await runInstaller(c, ["verify", "--namespace", namespace, "--output", "json"]);
    for (const id of ["postgres-query", "pgvector", "redis-ping"])
      assert.equal(checkOf(verify.events, id)?.status, "pass", `${id}: ${JSON.stringify(checkOf(verify.events, id))}`);
    assert.equal(checkOf(verify.events, "endpoints")?.status, "skip");
    assert.equal(m.checksums(db), before, "every table's rows and checksums as they were");
    assert.equal(await clientPodsLeft(), 0);
  });

  it("creates pgvector in your own database when its user may, before the migration", async () => {
    assert.equal(m.admin(fresh, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"), "0");
    const namespace = ns("e2e-own-vec");
    const args = own({ pg: ["--postgres-url", postgresUrl("owner", fresh), "--postgres-ca-file", m.caFile] });
    const run = await runInstaller(c, installArgs(namespace, ...args), passwords(m.passwords.owner));
    assert.equal(run.code, 0, run.stderr);
    assert.match(checkOf(run.events, "postgres-vector").message, /the install creates it in ext_fresh_/);
    assert.match(m.admin(fresh, "SELECT extversion FROM pg_extension WHERE extname = 'vector'"), /^\d+\.\d+/);
  });

  it("backs up your own PostgreSQL through a client pod, restores exactly the dump there, and takes the backup before a migration", async () => {
    const namespace = ns("e2e-own-data");
    // A restore creates a database and pgvector in it: a managed service's admin user (here: owner).
    const asOwner = own({ pg: ["--postgres-url", postgresUrl("owner", restored), "--postgres-ca-file", m.caFile] });
    const ownerPasswords = passwords(m.passwords.owner);
    assert.equal((await runInstaller(c, installArgs(namespace, "--tag", "1.0.0", ...asOwner), ownerPasswords)).code, 0);
    const dir = mkdtempSync(join(tmpdir(), "mathison-own-"));
    const file = join(dir, "own.dump");
    const atDump = m.checksums(restored);
    const backup = await runInstaller(c, ["backup", "--namespace", namespace, "--out", file]);
    assert.equal(backup.code, 0, backup.stderr);
    const manifest = JSON.parse(readFileSync(`${file}.json`, "utf8"));
    assert.equal(manifest.database.name, restored);
    assert.equal(manifest.schema.fieldRows["public.notes"].rows, 500, "the manifest counts the rows of your database");
    assert.ok(!readFileSync(`${file}.json`, "utf8").includes(m.passwords.app), "no password in the manifest");
    m.admin(
      restored,
      "DELETE FROM notes WHERE id % 2 = 0; CREATE TABLE written_after (id int); ALTER TABLE written_after OWNER TO app;",
    );
    assert.notEqual(m.checksums(restored), atDump);
    const restore = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes", "--output", "json"]);
    // The restore ends with the verification: the test cluster has no ingress controller (exit 10).
    assert.ok([0, 10].includes(restore.code), restore.stderr);
    for (const id of ["postgres-query", "pgvector"]) assert.equal(checkOf(restore.events, id)?.status, "pass", id);
    assert.equal(m.checksums(restored), atDump, "exactly the dump: the deleted rows back, the later table gone");
    assert.equal(
      m.admin("postgres", `SELECT count(*) FROM pg_database WHERE datname LIKE '${restored}\\_%'`),
      "0",
      "no restoring or replaced database left",
    );
    const upgrade = await runInstaller(
      c,
      installArgs(namespace, "--tag", "1.1.0", "--backup-dir", dir),
      ownerPasswords,
    );
    assert.equal(upgrade.code, 0, upgrade.stderr);
    const taken = upgrade.events.find((e) => e.event === "backup" && e.status === "done");
    assert.ok(taken, "a backup of your database before the migration");
    assert.equal(await clientPodsLeft(), 0);
  });

  for (const [point, at] of [
    ["while web and worker stop", /"step":"stop","status":"running"/],
    ["while pg_restore runs", /"step":"restore","status":"running"/],
    ["after the swap, while the migration runs", /"step":"migrate","status":"running"/],
  ] as const) {
    it(`a restore on your own PostgreSQL killed ${point}: the re-run finishes it; the data is the dump's`, async () => {
      const killedDb = `ext_killed_${process.pid}`;
      appDatabase(killedDb);
      try {
        const namespace = ns("e2e-own-kill");
        const pg = ["--postgres-url", postgresUrl("owner", killedDb), "--postgres-ca-file", m.caFile];
        assert.equal(
          (await runInstaller(c, installArgs(namespace, ...own({ pg })), passwords(m.passwords.owner))).code,
          0,
        );
        const file = join(mkdtempSync(join(tmpdir(), "mathison-kill-")), "kill.dump");
        assert.equal((await runInstaller(c, ["backup", "--namespace", namespace, "--out", file])).code, 0);
        const atDump = m.checksums(killedDb);
        m.admin(killedDb, "INSERT INTO notes (body) VALUES ('written after the dump')");
        const restore = ["restore", file, "--namespace", namespace, "--yes", "--output", "json"];
        const { out } = await killedOn(c, restore, at, 100);
        assert.match(out, at, "killed at the point");
        const again = await runInstaller(c, restore);
        assert.ok([0, 10].includes(again.code), again.stderr);
        assert.equal(m.checksums(killedDb), atDump);
        assert.equal(
          m.admin("postgres", `SELECT count(*) FROM pg_database WHERE datname LIKE '${killedDb}\\_%'`),
          "0",
          "no restoring or replaced database left",
        );
        assert.equal((await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas, 2);
      } finally {
        m.admin("postgres", `DROP DATABASE IF EXISTS ${killedDb} WITH (FORCE)`);
        m.admin("postgres", `DROP DATABASE IF EXISTS ${killedDb}_restoring WITH (FORCE)`);
        m.admin("postgres", `DROP DATABASE IF EXISTS ${killedDb}_replaced WITH (FORCE)`);
      }
    });
  }

  it("moves an install's data to your own PostgreSQL by hand: backup, install with --postgres-url, restore there; every row kept", async () => {
    const table = `e2e_move_${process.pid}`;
    const moved = `ext_move_${process.pid}`;
    const inCluster = backingServers(c);
    inCluster.psql(
      `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id serial PRIMARY KEY, body text, embedding vector(3)); INSERT INTO ${table} (body, embedding) SELECT 'row ' || i, ARRAY[i, 0, 1]::vector FROM generate_series(1, 2000) i;`,
    );
    m.admin("postgres", `CREATE DATABASE ${moved} OWNER app`);
    m.admin(moved, "CREATE EXTENSION vector");
    const sum = `SELECT count(*) || ' ' || sum(hashtextextended(t::text, 0)) FROM ${table} t`;
    try {
      const from = ns("e2e-move-from");
      assert.equal((await runInstaller(c, installArgs(from, "--tls", "none"))).code, 0);
      const file = join(mkdtempSync(join(tmpdir(), "mathison-move-")), "move.dump");
      assert.equal((await runInstaller(c, ["backup", "--namespace", from, "--out", file])).code, 0);
      const to = ns("e2e-move-to");
      const pg = ["--postgres-url", postgresUrl("owner", moved), "--postgres-ca-file", m.caFile];
      const installed = await runInstaller(
        c,
        installArgs(to, "--tls", "none", ...own({ pg })),
        passwords(m.passwords.owner),
      );
      assert.equal(installed.code, 0, installed.stderr);
      const restore = await runInstaller(c, ["restore", file, "--namespace", to, "--yes", "--output", "json"]);
      // The restore ends with the verification: the test cluster has no ingress controller (exit 10).
      assert.ok([0, 10].includes(restore.code), restore.stderr);
      for (const id of ["postgres-query", "pgvector"]) assert.equal(checkOf(restore.events, id)?.status, "pass", id);
      assert.equal(m.admin(moved, sum), inCluster.query(sum), "every row, as in the cluster's database");
    } finally {
      inCluster.psql(`DROP TABLE IF EXISTS ${table}`);
      m.admin("postgres", `DROP DATABASE IF EXISTS ${moved} WITH (FORCE)`);
    }
  });

  /** An install running its own PostgreSQL, with a table of 2 000 rows in it; the move's target database, empty. */
  const movable = async (prefix: string) => {
    const table = `e2e_moving_${process.pid}`;
    const target = `ext_moving_${process.pid}`;
    const inCluster = backingServers(c);
    inCluster.psql(
      `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id serial PRIMARY KEY, body text, embedding vector(3)); INSERT INTO ${table} (body, embedding) SELECT 'row ' || i, ARRAY[i, 0, 1]::vector FROM generate_series(1, 2000) i;`,
    );
    m.admin("postgres", `DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
    m.admin("postgres", `CREATE DATABASE ${target} OWNER owner`);
    const namespace = ns(prefix);
    assert.equal((await runInstaller(c, installArgs(namespace, "--tls", "none"))).code, 0);
    const sum = `SELECT count(*) || ' ' || sum(hashtextextended(t::text, 0)) FROM ${table} t`;
    const toOwn = installArgs(
      namespace,
      "--tls",
      "none",
      "--postgres-url",
      postgresUrl("owner", target),
      "--postgres-ca-file",
      m.caFile,
    );
    return {
      namespace,
      target,
      inCluster,
      sum,
      toOwn,
      table,
      atStart: inCluster.query(sum),
      drop: () => {
        inCluster.psql(`DROP TABLE IF EXISTS ${table}`);
        for (const name of [target, `${target}_restoring`, `${target}_replaced`])
          m.admin("postgres", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  };
  const postgresStatefulSet = (namespace: string) => kubectlJson(c, ["-n", namespace, "get", "statefulset/postgres"]);
  const webReplicas = async (namespace: string) =>
    (await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas;

  it("moves a running install's data to your own PostgreSQL and back, every row kept (checksums); the cluster's PostgreSQL parked meanwhile", async () => {
    const mv = await movable("e2e-move-out");
    try {
      const moved = await runInstaller(c, mv.toOwn, { MATHISON_POSTGRES_PASSWORD: m.passwords.owner });
      assert.equal(moved.code, 0, moved.stderr);
      const plan = moved.events.find((e) => e.event === "plan");
      assert.ok(
        plan.notices.some((n: string) => /^moving the data to your own PostgreSQL/.test(n)),
        "the plan says so",
      );
      assert.ok(plan.impact.some((i: any) => /^Deployment\/mathison-web is stopped for the move/.test(i.message)));
      const steps = moved.events.filter((e) => e.event === "step" && e.status === "done").map((e) => e.step);
      assert.deepEqual(steps, ["stop", "restore"], "web and worker stopped, the dump restored");
      assert.equal(m.admin(mv.target, mv.sum), mv.atStart, "every row in your own database");
      const parked = await postgresStatefulSet(mv.namespace);
      assert.equal(parked.spec.replicas, 0, "parked");
      assert.match(parked.metadata.annotations["mathison.dev/parked"], /--postgres-url "" moves it back/);
      const config = await kubectlJson(c, ["-n", mv.namespace, "get", "configmap/mathison-config"]);
      assert.equal(config.data.POSTGRES_DB, mv.target);
      const record = await kubectlJson(c, ["-n", mv.namespace, "get", "configmap/mathison-install"]);
      assert.equal(record.data["moving.yaml"], undefined, "the move is finished");
      assert.equal(await webReplicas(mv.namespace), 2);
      // The app goes on writing in your own database; the cluster's copy is as it was at the move.
      m.admin(mv.target, `INSERT INTO ${mv.table} (body) VALUES ('written in your own database')`);
      const grown = m.admin(mv.target, mv.sum);
      const again = await runInstaller(c, mv.toOwn, { MATHISON_POSTGRES_PASSWORD: m.passwords.owner });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.events.filter((e) => e.event === "step").length, 0, "a re-run moves nothing");
      assert.equal((await postgresStatefulSet(mv.namespace)).spec.replicas, 0, "still parked");

      const back = await runInstaller(c, installArgs(mv.namespace, "--tls", "none", "--postgres-url", ""));
      assert.equal(back.code, 0, back.stderr);
      const backSteps = back.events.filter((e) => e.event === "step" && e.status === "done").map((e) => e.step);
      assert.deepEqual(backSteps, ["postgres", "stop", "restore"]);
      assert.equal(mv.inCluster.query(mv.sum), grown, "every row, the one written in your own database with them");
      assert.equal(m.admin(mv.target, mv.sum), grown, "your own database is left as it was");
      assert.equal((await postgresStatefulSet(mv.namespace)).spec.replicas, 1);
      const backConfig = await kubectlJson(c, ["-n", mv.namespace, "get", "configmap/mathison-config"]);
      assert.match(backConfig.data.POSTGRES_HOST, /^postgres\./);
    } finally {
      mv.drop();
    }
  });

  for (const [point, at] of [
    ["while web and worker stop", /"step":"stop","status":"running"/],
    ["while pg_restore runs", /"step":"restore","status":"running"/],
    ["after the swap, before the stages", /"step":"restore","status":"done"/],
  ] as const) {
    it(`a move to your own PostgreSQL killed ${point}: status names it, the same command finishes it, every row kept`, async () => {
      const mv = await movable("e2e-move-kill");
      try {
        const { out } = await killedOn(c, mv.toOwn, at, 50, { MATHISON_POSTGRES_PASSWORD: m.passwords.owner });
        assert.match(out, at, "killed at the point");
        const status = await runInstaller(c, ["status", "--namespace", mv.namespace]);
        assert.equal(status.code, 7, "not healthy while the move is unfinished");
        assert.match(status.stdout + status.stderr, /MOVE\s+NOT\s+FINISHED[\s\S]*goes\s+to\s+your\s+own\s+PostgreSQL/);
        const again = await runInstaller(c, mv.toOwn, { MATHISON_POSTGRES_PASSWORD: m.passwords.owner });
        assert.equal(again.code, 0, again.stderr);
        assert.equal(m.admin(mv.target, mv.sum), mv.atStart);
        assert.equal(
          m.admin("postgres", `SELECT count(*) FROM pg_database WHERE datname LIKE '${mv.target}\\_%'`),
          "0",
          "no restoring or replaced database left",
        );
        assert.equal((await postgresStatefulSet(mv.namespace)).spec.replicas, 0, "parked");
        assert.equal(await webReplicas(mv.namespace), 2);
      } finally {
        mv.drop();
      }
    });
  }

  for (const [point, at] of [
    ["while the cluster's PostgreSQL starts", /"step":"postgres","status":"running"/],
    ["while pg_restore runs in the cluster", /"step":"restore","status":"running"/],
    ["after the swap, before the stages", /"step":"restore","status":"done"/],
  ] as const) {
    it(`a move back into the cluster killed ${point}: the same command finishes it, every row kept`, async () => {
      const mv = await movable("e2e-back-kill");
      try {
        const out = await runInstaller(c, mv.toOwn, { MATHISON_POSTGRES_PASSWORD: m.passwords.owner });
        assert.equal(out.code, 0, out.stderr);
        m.admin(mv.target, `INSERT INTO ${mv.table} (body) VALUES ('written in your own database')`);
        const grown = m.admin(mv.target, mv.sum);
        const back = installArgs(mv.namespace, "--tls", "none", "--postgres-url", "");
        const killed = await killedOn(c, back, at, 50);
        assert.match(killed.out, at, "killed at the point");
        const again = await runInstaller(c, back);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(mv.inCluster.query(mv.sum), grown, "every row, the one written in your own database with them");
        assert.equal((await postgresStatefulSet(mv.namespace)).spec.replicas, 1);
        assert.equal(await webReplicas(mv.namespace), 2);
      } finally {
        mv.drop();
      }
    });
  }

  it("Ctrl-C while a move waits on another client of your database: exit 130 within 2 s, your database as it was; the same command finishes it once the client is gone", async () => {
    const mv = await movable("e2e-move-int");
    const holder = m.connect(mv.target);
    try {
      await holder.ready;
      const env = { MATHISON_POSTGRES_PASSWORD: m.passwords.owner };
      const { child, result } = startInstaller(c, mv.toOwn, env);
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
      });
      const restored = () =>
        m.admin("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${mv.target}_restoring'`);
      for (let i = 0; i < 300 && !/"step":"restore","status":"running"/.test(out); i++)
        await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 100 && restored() === "0"; i++) await new Promise((r) => setTimeout(r, 100));
      // The dump is whole beside your database; the swap waits for the other client to leave.
      await new Promise((r) => setTimeout(r, 1500));
      const sent = Date.now();
      child.kill("SIGINT");
      const run = await result;
      assert.equal(run.code, 130, run.stderr);
      assert.ok(Date.now() - sent < 2_000, `ended within 2 s (${Date.now() - sent} ms)`);
      assert.equal(
        m.admin(mv.target, "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'"),
        "0",
        "your database as it was",
      );
      holder.end();
      const again = await runInstaller(c, mv.toOwn, env);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(m.admin(mv.target, mv.sum), mv.atStart);
    } finally {
      holder.end();
      mv.drop();
    }
  });

  it("a move killed once its stages run, after the app wrote to your own database: the re-run keeps what it wrote (the move's mark); uninstall --delete-data removes the parked volume only", async () => {
    const mv = await movable("e2e-move-late");
    try {
      const { out } = await killedOn(c, mv.toOwn, /"event":"stage","stage":"app"/, 0, {
        MATHISON_POSTGRES_PASSWORD: m.passwords.owner,
      });
      assert.match(out, /"step":"restore","status":"done"/);
      m.admin(mv.target, `INSERT INTO ${mv.table} (body) VALUES ('written after the swap')`);
      const written = m.admin(mv.target, mv.sum);
      const again = await runInstaller(c, mv.toOwn, { MATHISON_POSTGRES_PASSWORD: m.passwords.owner });
      assert.equal(again.code, 0, again.stderr);
      const said = again.events.find((e) => e.event === "step" && e.step === "move");
      assert.match(said?.message ?? "", /this move's mark is on database/);
      assert.equal(m.admin(mv.target, mv.sum), written, "nothing moved again over it");
      const claims = async () =>
        (await kubectlJson(c, ["-n", mv.namespace, "get", "pvc", "-l", "app.kubernetes.io/name=postgres"])).items
          .length;
      assert.equal(await claims(), 1, "the parked PostgreSQL's volume is kept");
      const gone = await runInstaller(c, [
        "uninstall",
        "--non-interactive",
        "--output",
        "json",
        "--namespace",
        mv.namespace,
        "--yes",
        "--delete-data",
      ]);
      assert.equal(gone.code, 0, gone.stderr + gone.stdout);
      assert.equal(await claims(), 0, "uninstall --delete-data removes the parked volume");
      assert.equal(m.admin(mv.target, mv.sum), written, "and leaves your own database as it was");
    } finally {
      mv.drop();
    }
  });

  it("--delete-parked-postgres deletes the parked PostgreSQL and its volume, your own database untouched; where none is parked it is refused by name (exit 2)", async () => {
    const mv = await movable("e2e-move-drop");
    try {
      const env = { MATHISON_POSTGRES_PASSWORD: m.passwords.owner };
      assert.equal((await runInstaller(c, mv.toOwn, env)).code, 0);
      const moved = m.admin(mv.target, mv.sum);
      const dropped = await runInstaller(c, [...mv.toOwn, "--delete-parked-postgres"], env);
      assert.equal(dropped.code, 0, dropped.stderr);
      const plan = dropped.events.find((e) => e.event === "plan");
      assert.ok(plan.notices.some((n: string) => /the cluster's parked PostgreSQL is deleted with its volume/.test(n)));
      const claims = await kubectlJson(c, ["-n", mv.namespace, "get", "pvc", "-l", "app.kubernetes.io/name=postgres"]);
      assert.equal(claims.items.filter((p: any) => !p.metadata.deletionTimestamp).length, 0, "its volume deleted");
      assert.notEqual(
        (await kubectl(c, ["-n", mv.namespace, "get", "statefulset/postgres"])).code,
        0,
        "its StatefulSet deleted",
      );
      assert.equal(m.admin(mv.target, mv.sum), moved, "your own database untouched");
      const again = await runInstaller(c, [...mv.toOwn, "--delete-parked-postgres"], env);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /--delete-parked-postgres: .*has none/);
    } finally {
      mv.drop();
    }
  });

  it("switches a running install to your own Redis once its queue is drained, and back; a queue that does not drain stops the switch, web stopped, nothing switched", async () => {
    const namespace = ns("e2e-redis-switch");
    assert.equal((await runInstaller(c, installArgs(namespace, "--tls", "none"))).code, 0);
    const queue = `bull:e2e-${process.pid}:wait`;
    const inCluster = backingServers(c);
    const redisUrl = `rediss://127.0.0.1:${m.redisPort}/0`;
    const toOwn = installArgs(
      namespace,
      "--tls",
      "none",
      "--timeout",
      "5s",
      "--redis-url",
      redisUrl,
      "--redis-ca-file",
      m.caFile,
    );
    const env = { MATHISON_REDIS_PASSWORD: m.passwords.redis };
    const redisExists = async () => (await kubectl(c, ["-n", namespace, "get", "statefulset/redis"])).code === 0;
    try {
      inCluster.redis("RPUSH", queue, "job-1");
      const stuck = await runInstaller(c, toOwn, env);
      assert.equal(stuck.code, 4, stuck.stderr);
      assert.match(stuck.stderr + stuck.stdout, /1 job is still queued \(waiting, active or delayed\)/);
      assert.equal(await webReplicas(namespace), 0, "web stopped: no new jobs meanwhile");
      assert.ok(await redisExists(), "nothing switched");
      const status = await runInstaller(c, ["status", "--namespace", namespace]);
      assert.equal(status.code, 7, "not healthy with web stopped");
      assert.match(status.stdout, /REDIS\s+SWITCH\s+NOT\s+FINISHED/);
      // The worker finished the job.
      inCluster.redis("DEL", queue);
      const switched = await runInstaller(c, toOwn, env);
      assert.equal(switched.code, 0, switched.stderr);
      const said = switched.events.find((e) => e.event === "step" && e.step === "redis" && e.status === "done");
      assert.match(said?.message ?? "", /no job is queued/);
      assert.equal(await redisExists(), false, "the cluster's Redis removed");
      const secret = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"]);
      assert.match(Buffer.from(secret.data.REDIS_URL, "base64").toString(), /^rediss:\/\/:[^@]+@127\.0\.0\.1:/);
      assert.equal(await webReplicas(namespace), 2);

      m.redisCli("RPUSH", queue, "job-2");
      const back = installArgs(namespace, "--tls", "none", "--timeout", "5s", "--redis-url", "");
      const waiting = await runInstaller(c, back);
      assert.equal(waiting.code, 4, "your own Redis's queue is drained first too");
      m.redisCli("DEL", queue);
      const returned = await runInstaller(c, back);
      assert.equal(returned.code, 0, returned.stderr);
      assert.ok(await redisExists(), "the cluster's Redis again");
      const config = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-config"]);
      assert.match(config.data.REDIS_URL, /^redis:\/\/redis\./);
    } finally {
      inCluster.redis("DEL", queue);
      m.redisCli("DEL", queue);
    }
  });

  it("refuses a move into a database that holds tables, before anything stops (exit 9, the tables counted)", async () => {
    const mv = await movable("e2e-move-full");
    try {
      m.admin(mv.target, "CREATE TABLE someone_elses (id int)");
      const refused = await runInstaller(c, mv.toOwn, { MATHISON_POSTGRES_PASSWORD: m.passwords.owner });
      assert.equal(refused.code, 9);
      assert.match(refused.stderr + refused.stdout, /holds 1 tables: a move fills an empty database/);
      assert.equal(await webReplicas(mv.namespace), 2, "nothing stopped");
      assert.equal((await postgresStatefulSet(mv.namespace)).spec.replicas, 1);
    } finally {
      mv.drop();
    }
  });

  it("refuses by name what it cannot do for your own database (exit 2; a restore its user cannot make, exit 9), and uninstall --delete-data leaves it as it was", async () => {
    const namespace = ns("e2e-own-day2");
    assert.equal((await runInstaller(c, installArgs(namespace, ...own()), passwords())).code, 0);
    const before = m.checksums(db);
    const withRedis = await runInstaller(c, ["backup", "--namespace", namespace, "--include-redis"]);
    assert.equal(withRedis.code, 2);
    assert.match(withRedis.stderr, /--include-redis: this install uses your own Redis/);
    const file = join(mkdtempSync(join(tmpdir(), "mathison-own-")), "app.dump");
    assert.equal((await runInstaller(c, ["backup", "--namespace", namespace, "--out", file])).code, 0);
    const restore = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes", "--output", "json"]);
    assert.equal(restore.code, 9, "a user who may not create what a restore creates: refused before anything stops");
    assert.match(restore.stderr, /user app of your own PostgreSQL may not create the vector extension the dump holds/);
    assert.equal(
      (await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas,
      2,
      "web was not stopped",
    );
    const rotate = await runInstaller(c, installArgs(namespace, "--rotate", "POSTGRES_PASSWORD"), passwords());
    assert.equal(rotate.code, 2);
    assert.match(rotate.stderr, /--rotate: "POSTGRES_PASSWORD" is not allowed: .*changed where it runs/);
    const gone = await runInstaller(c, [
      "uninstall",
      "--non-interactive",
      "--output",
      "json",
      "--namespace",
      namespace,
      "--yes",
      "--delete-data",
    ]);
    assert.equal(gone.code, 0, gone.stderr);
    assert.ok(!gone.events.some((e) => e.event === "backup"), "no backup first: none of your data is deleted");
    assert.equal(m.checksums(db), before, "your own database untouched");
    assert.match(m.admin("postgres", `SELECT datname FROM pg_database WHERE datname = '${db}'`), new RegExp(db));
  });
});
