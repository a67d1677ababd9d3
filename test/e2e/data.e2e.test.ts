// The data survives: backups streamed from the real PostgreSQL (with pgvector) behind KWOK's exec,
// restores into it, the backup before a migration, and the final one before --delete-data.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { kubectl, kubectlJson, testCluster } from "../helpers/cluster.js";
import { freshNamespaces, installArgs, killedOn, runInstaller, startInstaller } from "../helpers/install.js";
import { backingServers } from "../helpers/standins.js";

const { cluster, skip } = testCluster();

describe("backup and restore", { skip }, () => {
  const c = cluster!;
  const fresh = freshNamespaces(c);
  const data = mkdtempSync(join(tmpdir(), "mathison-data-"));
  const env = { XDG_DATA_HOME: data };
  const table = `e2e_notes_${process.pid}`;
  let namespace: string;
  let db: ReturnType<typeof backingServers>;
  /** Rows and a checksum of every row, the vector column included. */
  const fingerprint = () =>
    db.query(`SELECT count(*) || ' ' || md5(string_agg(id || body || embedding::text, ',' ORDER BY id)) FROM ${table}`);

  before(async () => {
    db = backingServers(c);
    db.psql(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id serial primary key, body text, embedding vector(3));
      INSERT INTO ${table} (body, embedding) SELECT 'note ' || g || repeat('x', 200), ARRAY[g, g / 2.0, -g]::vector FROM generate_series(1, 20000) g;`);
    namespace = fresh("e2e-data");
    const run = await runInstaller(c, installArgs(namespace), env);
    assert.equal(run.code, 0, run.stderr);
  });
  after(() => db?.psql(`DROP TABLE IF EXISTS ${table}`));

  /** The table's rows at the dump, hashed by their text as installers before `fieldRows` recorded them. */
  let textChecksumAtDump = "";

  it("backup → drop the table → restore: every row and vector back; the migration ran again; verify ran", async () => {
    const before = fingerprint();
    textChecksumAtDump = db.query(`SELECT sum(hashtextextended(r::text, 0)) FROM ${table} r`);
    const file = join(data, "manual.dump");
    const backup = await runInstaller(c, ["backup", "--namespace", namespace, "--out", file]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.stdout.trim(), file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const manifest = JSON.parse(readFileSync(`${file}.json`, "utf8"));
    assert.equal(manifest.bytes, statSync(file).size);
    assert.equal(manifest.database.name, "mathison");
    assert.match(manifest.lastMigration, /^mathison-migrate-/);
    assert.deepEqual(
      manifest.schema.fieldRows[`public.${table}`],
      {
        rows: 20000,
        // id and body by their own hash functions; pgvector's vector has none, so by its text.
        checksum: db.query(`SELECT sum(hash_record_extended(ROW(id, body, embedding::text), 0)) FROM ${table}`),
      },
      "the manifest holds the table's count and checksum, as the database computes them",
    );
    assert.equal(manifest.images.web, "mathison-web:latest");
    const jobBefore = await kubectlJson(c, ["-n", namespace, "get", `job/${manifest.lastMigration}`]);

    db.psql(`DROP TABLE ${table}`);
    const restore = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes", "--output", "json"]);
    // Verification fails here only on the Ingress chain (the test cluster has no ingress controller).
    assert.ok([0, 10].includes(restore.code), restore.stderr);
    assert.deepEqual(
      restore.events.filter((e) => e.event === "step" && e.status === "done").map((e) => e.step),
      ["stop", "restore", "migrate", "start"],
    );
    assert.ok(restore.events.some((e) => e.event === "verified"));
    const done = restore.events.filter((e) => e.event === "done");
    assert.equal(done.length, 1, "one verdict");
    assert.equal(restore.events.at(-1), done[0], "the verdict is the last event");
    assert.equal(done[0].ok, restore.code === 0);
    assert.match(done[0].message, new RegExp(`^restored ${namespace} from \\S*manual\\.dump`));
    assert.equal(fingerprint(), before);
    const jobAfter = await kubectlJson(c, ["-n", namespace, "get", `job/${manifest.lastMigration}`]);
    assert.notEqual(jobAfter.metadata.uid, jobBefore.metadata.uid, "the migration Job ran afresh");
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.replicas, 2, "web is back at its count");
    const record = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-install"]);
    assert.equal(record.data["restoring.yaml"], undefined, "no restore pending");
    assert.ok(record.data["verification.yaml"], "verified and recorded");
    const status = await runInstaller(c, ["status", "--namespace", namespace]);
    assert.match(status.stdout, /^ {2}\S+ \S+ UTC {2}restored /m, "status's last runs show the restore");
  });

  /** What the restore left in the database server: its working databases and sessions. */
  const leftovers = () =>
    db.query(
      "SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE 'mathison\\_re%') || ' ' || (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'mathison-install%')",
    );

  it("a restore yields exactly the dump: a table made after it is gone, and no working database stays", async () => {
    const file = join(data, "manual.dump");
    const before = fingerprint();
    db.psql(`CREATE TABLE e2e_after_${process.pid} (id int); INSERT INTO e2e_after_${process.pid} VALUES (1);`);
    db.psql(`INSERT INTO ${table} (body) VALUES ('written after the dump')`);
    const restore = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes", "--output", "json"]);
    assert.ok([0, 10].includes(restore.code), restore.stderr);
    assert.equal(db.query(`SELECT to_regclass('e2e_after_${process.pid}') IS NULL`), "t", "the later table is gone");
    assert.equal(fingerprint(), before, "the rows are the dump's");
    assert.equal(leftovers(), "0 0");
  });

  it("a dump that restores to other rows than its manifest recorded is not swapped in: the old data stays (exit 5)", async () => {
    const file = join(data, "manual.dump");
    const forged = join(data, "forged.dump");
    copyFileSync(file, forged);
    const manifest = JSON.parse(readFileSync(`${file}.json`, "utf8"));
    manifest.file = "forged.dump";
    manifest.schema.fieldRows[`public.${table}`].rows += 1;
    writeFileSync(`${forged}.json`, JSON.stringify(manifest));
    db.psql(`INSERT INTO ${table} (body) VALUES ('written after the dump')`);
    const kept = fingerprint();
    const run = await runInstaller(c, ["restore", forged, "--namespace", namespace, "--yes"]);
    assert.equal(run.code, 5, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `table public\\.${table} has 20000 rows, the dump's manifest says 20001; database mathison is as it was`,
      ),
    );
    assert.equal(fingerprint(), kept, "the old data is as it was");
    assert.equal(leftovers(), "0 0");
    // The next tests start from the dump's data, with web and worker running.
    const again = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes"]);
    assert.ok([0, 10].includes(again.code), again.stderr);
  });

  it("a backup of an older installer (rows hashed by their text) is checked by their text: a count that differs is refused, the right one restores", async () => {
    const file = join(data, "manual.dump");
    const older = join(data, "older.dump");
    copyFileSync(file, older);
    const manifest = JSON.parse(readFileSync(`${file}.json`, "utf8"));
    manifest.file = "older.dump";
    delete manifest.schema.fieldRows;
    const withRows = (rows: number) => {
      manifest.schema.rows = { [`public.${table}`]: { rows, checksum: textChecksumAtDump } };
      writeFileSync(`${older}.json`, JSON.stringify(manifest));
    };
    withRows(20001);
    const refused = await runInstaller(c, ["restore", older, "--namespace", namespace, "--yes"]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /has 20000 rows, the dump's manifest says 20001/);
    withRows(20000);
    const restored = await runInstaller(c, ["restore", older, "--namespace", namespace, "--yes"]);
    assert.ok([0, 10].includes(restored.code), restored.stderr);
    assert.equal(leftovers(), "0 0");
  });

  for (const [point, at] of [
    ["while web and worker stop", /"step":"stop","status":"running"/],
    ["while pg_restore runs", /"step":"restore","status":"running"/],
    ["after the swap, while the migration runs", /"step":"migrate","status":"running"/],
  ] as const) {
    it(`a restore killed ${point}: the re-run ends what it left and finishes; the data is the dump's`, async () => {
      const file = join(data, "manual.dump");
      const before = fingerprint();
      db.psql(`INSERT INTO ${table} (body) VALUES ('written after the dump')`);
      const { out } = await killedOn(
        c,
        ["restore", file, "--namespace", namespace, "--yes", "--output", "json"],
        at,
        100,
      );
      assert.match(out, at, "killed at the point");
      const again = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes", "--output", "json"]);
      assert.ok([0, 10].includes(again.code), again.stderr);
      assert.equal(fingerprint(), before);
      assert.equal(leftovers(), "0 0");
      assert.equal((await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas, 2);
    });
  }

  /** A restore of the manual dump (--timeout 20s) that succeeds: what its restore step said. */
  const restoredSaying = async () => {
    const args = ["restore", join(data, "manual.dump"), "--namespace", namespace, "--yes", "--timeout", "20s"];
    const run = await runInstaller(c, [...args, "--output", "json"]);
    assert.ok([0, 10].includes(run.code), run.stderr);
    return run.events.find((e) => e.event === "step" && e.step === "restore" && e.status === "done").message;
  };

  it("a pg_restore a killed run left working in the pod (its session holding locks) is ended by the next restore", async () => {
    // On a real cluster a dropped exec connection does not end the process in the pod; the test
    // cluster's exec ends it, so the orphan is played by a session of the same name holding locks.
    const before = fingerprint();
    const orphan = db.hold(
      `BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT 'held';`,
      "mathison-install restore",
    );
    await orphan.ready;
    assert.match(await restoredSaying(), /ended 1 session an earlier restore left running/);
    orphan.end();
    assert.equal(fingerprint(), before);
    assert.equal(leftovers(), "0 0");
  });

  it("a backup a killed run left waiting in the pod (its psql connected, idle) is ended by the next restore, which swaps", async () => {
    const before = fingerprint();
    const orphan = db.hold("SELECT 'held';", "mathison-install backup");
    try {
      await orphan.ready;
      // Idle for more than 10 s: a backup that runs never is.
      await new Promise((r) => setTimeout(r, 11_000));
      assert.match(await restoredSaying(), /ended 1 idle session a killed backup left/);
    } finally {
      orphan.end();
    }
    assert.equal(fingerprint(), before);
    assert.equal(leftovers(), "0 0");
  });

  it("another client on the database: the restore waits --timeout, names it, and stops with the old data intact (exit 5)", async () => {
    const file = join(data, "manual.dump");
    db.psql(`INSERT INTO ${table} (body) VALUES ('written after the dump')`);
    const kept = fingerprint();
    const holder = db.hold(`BEGIN; LOCK TABLE ${table} IN ACCESS SHARE MODE; SELECT 'held';`);
    try {
      await holder.ready;
      const started = Date.now();
      const run = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes", "--timeout", "8s"]);
      const took = Date.now() - started;
      assert.equal(run.code, 5, run.stderr);
      assert.match(run.stderr, new RegExp(`pid ${holder.pid()} \\(e2e-holder`));
      assert.match(run.stderr, new RegExp(`AccessShareLock on ${table}`));
      assert.match(run.stderr, /database mathison is as it was/);
      assert.ok(took < 40_000, `stopped in ${took} ms`);
    } finally {
      holder.end();
    }
    assert.equal(fingerprint(), kept, "the old data is as it was");
    assert.equal(leftovers(), "0 0");
    const again = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes"]);
    assert.ok([0, 10].includes(again.code), again.stderr);
  });

  it("backup --include-redis → Redis loses its keys → restore: Redis is stopped, its snapshot put back, and it starts with them", async () => {
    const key = `e2e:queue:${process.pid}`;
    db.redis("DEL", key);
    db.redis("RPUSH", key, "job-1", "job-2", "job-3");
    const file = join(data, "with-redis.dump");
    const backup = await runInstaller(c, ["backup", "--namespace", namespace, "--out", file, "--include-redis"]);
    assert.equal(backup.code, 0, backup.stderr);
    const manifest = JSON.parse(readFileSync(`${file}.json`, "utf8"));
    assert.equal(manifest.redis.file, "with-redis.dump.rdb");
    assert.equal(statSync(`${file}.rdb`).size, manifest.redis.bytes);
    assert.equal(statSync(`${file}.rdb`).mode & 0o777, 0o600);
    assert.equal(readFileSync(`${file}.rdb`).subarray(0, 5).toString(), "REDIS");

    db.redis("DEL", key);
    db.redis("RPUSH", key, "job-after-the-backup");
    const restore = await runInstaller(c, ["restore", file, "--namespace", namespace, "--yes", "--output", "json"]);
    assert.ok([0, 10].includes(restore.code), restore.stderr);
    assert.deepEqual(
      restore.events.filter((e) => e.event === "step" && e.status === "done").map((e) => e.step),
      ["stop", "restore", "redis", "migrate", "start"],
    );
    const sts = await kubectlJson(c, ["-n", namespace, "get", "statefulset/redis"]);
    assert.equal(sts.spec.replicas, 1, "Redis is running again");
    const helper = await kubectl(c, ["-n", namespace, "get", "pod/mathison-redis-restore"]);
    assert.notEqual(helper.code, 0, "the helper pod is gone");
    // KWOK simulates Redis's pod: the host's Redis (what its exec reaches) starts again as the pod did.
    db.stopRedis();
    db.startRedis();
    assert.equal(db.redis("LRANGE", key, "0", "-1"), "job-1\njob-2\njob-3");
  });

  it("a damaged dump is refused before anything happens (exit 2)", async () => {
    const file = join(data, "manual.dump");
    const copy = join(data, "damaged.dump");
    execFileSync("cp", [file, copy]);
    execFileSync("cp", [`${file}.json`, `${copy}.json`]);
    execFileSync("sh", ["-c", `printf 'x' | dd of=${copy} bs=1 seek=100 conv=notrunc 2>/dev/null`]);
    const run = await runInstaller(c, ["restore", copy, "--namespace", namespace, "--yes"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /sha256 is \w+, its manifest says \w+: it is damaged; nothing was restored/);
  });

  for (const [point, file, fraction] of [
    ["as the dump starts", "k.dump.partial", 0],
    ["half-way through the dump", "k.dump.partial", 0.5],
    ["while Redis's snapshot streams, the dump complete", "k.dump.rdb.partial", 0],
  ] as const) {
    it(`SIGKILL ${point}: only .partial files are left, never a backup that looks whole; the re-run makes a whole one`, async () => {
      const dir = mkdtempSync(join(data, "killed-"));
      const args = ["backup", "--namespace", namespace, "--include-redis", "--out", join(dir, "k.dump")];
      // The dump's full size, from a backup of the same database.
      const whole = statSync(join(data, "manual.dump")).size;
      const { child, result } = startInstaller(c, args);
      const reached = () => {
        try {
          return statSync(join(dir, file)).size >= whole * fraction;
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 30_000;
      while (!reached() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      child.kill("SIGKILL");
      await result;
      assert.deepEqual(
        readdirSync(dir).filter((f) => !f.endsWith(".partial")),
        [],
      );
      const again = await runInstaller(c, args);
      assert.equal(again.code, 0, again.stderr);
      const manifest = JSON.parse(readFileSync(join(dir, "k.dump.json"), "utf8"));
      const sha = createHash("sha256")
        .update(readFileSync(join(dir, "k.dump")))
        .digest("hex");
      assert.equal(sha, manifest.sha256, "the re-run's dump is whole");
      assert.deepEqual(readdirSync(dir).sort(), ["k.dump", "k.dump.json", "k.dump.rdb"]);
    });
  }

  it("a disk that fills up: a clear error, the partial file removed, exit 12", {
    skip: process.getuid?.() !== 0 && "mounting a tmpfs needs root",
  }, async () => {
    const dir = join(data, "small");
    mkdirSync(dir);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir]);
    try {
      const run = await runInstaller(c, ["backup", "--namespace", namespace, "--out", join(dir, "full.dump")]);
      assert.equal(run.code, 12, run.stderr);
      assert.match(run.stderr, /backup failed: the disk holding .*full\.dump is full; the partial files were removed/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      execFileSync("umount", [dir]);
    }
  });

  it("a disk with room for the dump but not its manifest: nothing is left that looks like a backup, exit 12", {
    skip: process.getuid?.() !== 0 && "mounting a tmpfs needs root",
  }, async () => {
    // The dump's size, from a backup into a roomy directory (the same data dumps to the same size).
    const probe = join(data, "probe.dump");
    const first = await runInstaller(c, ["backup", "--namespace", namespace, "--out", probe]);
    assert.equal(first.code, 0, first.stderr);
    const pages = Math.ceil(statSync(probe).size / 4096);
    const dir = join(data, "exact");
    mkdirSync(dir);
    // The dump's pages and not one more: the manifest, a page of its own, does not fit.
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${pages * 4096}`, "tmpfs", dir]);
    try {
      const run = await runInstaller(c, ["backup", "--namespace", namespace, "--out", join(dir, "x.dump")]);
      assert.equal(run.code, 12, run.stderr);
      assert.match(run.stderr, /the disk holding .*x\.dump is full; the partial files were removed/);
      assert.doesNotMatch(run.stderr, /ENOSPC/);
      assert.deepEqual(readdirSync(dir), [], "no dump without its manifest, no empty manifest");
    } finally {
      execFileSync("umount", [dir]);
    }
  });

  it("an upgrade that migrates takes a backup first; a no-op re-run takes none; --no-backup takes none and says so", async () => {
    const context = (await kubectl(c, ["config", "current-context"])).stdout.trim();
    const snapshots = join(data, "mathison-install", "backups", context, namespace);
    const dumps = () => (existsSync(snapshots) ? readdirSync(snapshots).filter((f) => f.endsWith(".dump")) : []);
    const upgrade = await runInstaller(c, installArgs(namespace, "--tag", "2.0.0"), env);
    assert.equal(upgrade.code, 0, upgrade.stderr);
    const plan = upgrade.events.find((e) => e.event === "plan");
    assert.match(plan.impact[0].message, /^a backup of the database is taken before the migration, into /);
    const done = upgrade.events.find((e) => e.event === "backup" && e.status === "done");
    assert.ok(done, "a backup event");
    const firstWrite = upgrade.events.findIndex((e) => e.event === "apply");
    assert.ok(upgrade.events.indexOf(done) < firstWrite, "before anything is applied");
    assert.equal(dumps().length, 1);
    const manifest = JSON.parse(readFileSync(join(snapshots, `${dumps()[0]}.json`), "utf8"));
    assert.equal(manifest.images.web, "mathison-web:latest", "the images it was taken under");

    const noop = await runInstaller(c, installArgs(namespace, "--tag", "2.0.0"), env);
    assert.equal(noop.code, 0, noop.stderr);
    assert.ok(!noop.events.some((e) => e.event === "backup"));
    const skipped = await runInstaller(c, installArgs(namespace, "--tag", "2.1.0", "--no-backup"), env);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.events.find((e) => e.event === "plan").impact[0].message, /^--no-backup: the migration runs/);
    assert.equal(dumps().length, 1);
  });

  it("a backup that fails stops the upgrade with nothing applied (exit 12)", async () => {
    const run = await runInstaller(
      c,
      installArgs(namespace, "--tag", "2.2.0", "--backup-dir", "/dev/null/backups"),
      env,
    );
    assert.equal(run.code, 12, run.stderr);
    const done = run.events.at(-1);
    assert.equal(done.outcome, "backup-failed");
    assert.match(done.message, /cannot create the directory \/dev\/null\/backups: ENOTDIR.*nothing was applied/);
    assert.ok(!run.events.some((e) => e.event === "apply"));
    const web = await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"]);
    assert.equal(web.spec.template.spec.containers[0].image, "mathison-web:2.1.0", "unchanged");
  });

  it("a restore killed after scaling down: status says so, and install starts web and worker as they were", async () => {
    const file = join(data, "manual.dump");
    const { out, run: killed } = await killedOn(
      c,
      ["restore", file, "--namespace", namespace, "--yes", "--output", "json"],
      /"step":"stop","status":"done"/,
    );
    assert.match(out, /"step":"stop","status":"done"/, `${out}\n${killed.stderr}`);
    assert.equal((await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas, 0);
    const status = await runInstaller(c, ["status", "--namespace", namespace]);
    assert.equal(status.code, 7);
    assert.match(status.stderr + status.stdout, /RESTORE\s+NOT\s+FINISHED/);
    const install = await runInstaller(c, installArgs(namespace, "--tag", "2.1.0"), env);
    assert.equal(install.code, 0, install.stderr);
    assert.equal((await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.replicas, 2);
    const record = await kubectlJson(c, ["-n", namespace, "get", "configmap/mathison-install"]);
    assert.equal(record.data["restoring.yaml"], undefined);
  });

  it("uninstall --delete-data takes a final backup first and says where", async () => {
    const run = await runInstaller(
      c,
      ["uninstall", "--namespace", namespace, "--delete-data", "--yes", "--output", "json"],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const done = run.events.find((e) => e.event === "backup" && e.status === "done");
    assert.ok(done, run.stdout);
    assert.ok(existsSync(done.file));
    assert.ok(
      run.events.indexOf(done) <
        run.events.findIndex((e) => e.event === "apply" || e.event === "cleanup" || e.event === "stage"),
    );
    await kubectl(c, ["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
  });
});

/** Whether PostgreSQL's stored SCRAM verifier is for this password (RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key"))). */
function scramMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):/.exec(verifier);
  if (!m) return false;
  const salted = pbkdf2Sync(password, Buffer.from(m[2]!, "base64"), Number(m[1]), 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  return createHash("sha256").update(clientKey).digest("base64") === m[3];
}

describe("rotating POSTGRES_PASSWORD", { skip }, () => {
  const c = cluster!;
  const fresh = freshNamespaces(c);
  let namespace: string;
  let db: ReturnType<typeof backingServers>;
  const verifier = () => db.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'mathison'");
  /** A login over TCP as web and worker make it (the test server checks passwords there), and the stored verifier as a second witness. */
  const isPassword = (password: string) => {
    const login = db.logsIn(password);
    assert.equal(login, scramMatches(verifier(), password), "the login and the stored verifier agree");
    return login;
  };
  const secret = async () => {
    const s = await kubectlJson(c, ["-n", namespace, "get", "secret/mathison-secrets"]);
    return Object.fromEntries(
      Object.entries(s.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
    );
  };
  before(async () => {
    db = backingServers(c);
    namespace = fresh("e2e-rotate");
    assert.equal((await runInstaller(c, installArgs(namespace))).code, 0);
    // The test server's role starts with the password this install generated, as a real one would.
    db.psql(`ALTER ROLE mathison WITH PASSWORD '${(await secret())["POSTGRES_PASSWORD"]}'`);
  });

  it("changes it inside PostgreSQL, then the Secret and DATABASE_URL; web and worker roll; never in argv or the output", async () => {
    const old = (await secret())["POSTGRES_PASSWORD"]!;
    const digest = async () =>
      (await kubectlJson(c, ["-n", namespace, "get", "deployment/mathison-web"])).spec.template.metadata.annotations[
        "mathison.dev/config-digest"
      ];
    const before = await digest();
    const run = await runInstaller(c, installArgs(namespace, "--rotate", "POSTGRES_PASSWORD"));
    assert.equal(run.code, 0, run.stderr);
    const now = await secret();
    assert.notEqual(now["POSTGRES_PASSWORD"], old);
    assert.equal(now["POSTGRES_PASSWORD_NEXT"], undefined);
    assert.ok(isPassword(now["POSTGRES_PASSWORD"]!), "PostgreSQL has the new password");
    assert.ok(!isPassword(old), "and not the old one");
    assert.equal(decodeURIComponent(new URL(now["DATABASE_URL"]!).password), now["POSTGRES_PASSWORD"]);
    assert.notEqual(await digest(), before, "web rolls");
    assert.ok(!`${run.stdout}${run.stderr}`.includes(now["POSTGRES_PASSWORD"]!), "never printed");
  });

  /**
   * Holds the Secret's POSTGRES_PASSWORD where it is (a ValidatingAdmissionPolicy refuses to change
   * it), so a run killed once PostgreSQL has the new password is killed before the Secret has it
   * however late the kill lands: killed on the event line alone, a slow test could miss the window.
   */
  async function holdSecretPassword(): Promise<() => Promise<void>> {
    const name = `hold-postgres-password-${namespace}`;
    const policy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${name}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [UPDATE], resources: [secrets]}
  validations:
    - expression: "object.metadata.name != 'mathison-secrets' || object.data['POSTGRES_PASSWORD'] == oldObject.data['POSTGRES_PASSWORD']"
      message: held by the test
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${name}}
spec:
  policyName: ${name}
  validationActions: [Deny]
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${namespace}}}
`;
    const probe = () =>
      kubectl(c, [
        "-n",
        namespace,
        "patch",
        "secret/mathison-secrets",
        "--dry-run=server",
        "--type=merge",
        "-p",
        '{"stringData":{"POSTGRES_PASSWORD":"probe-of-the-hold"}}',
      ]);
    const until = async (held: boolean) => {
      for (let i = 0; i < 100; i++) {
        if (((await probe()).code !== 0) === held) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`the policy was not ${held ? "in force" : "lifted"} after 10 s`);
    };
    const applied = await kubectl(c, ["apply", "-f", "-"], policy);
    assert.equal(applied.code, 0, applied.stderr);
    await until(true);
    return async () => {
      await kubectl(c, ["delete", "validatingadmissionpolicybinding", name, "validatingadmissionpolicy", name]);
      await until(false);
    };
  }

  it("a run killed between ALTER ROLE and the Secret is finished by the next run", async () => {
    const old = (await secret())["POSTGRES_PASSWORD"]!;
    const release = await holdSecretPassword();
    const { out } = await killedOn(
      c,
      installArgs(namespace, "--rotate", "POSTGRES_PASSWORD"),
      /"step":"rotate","status":"done"/,
    );
    await release();
    assert.match(out, /"step":"rotate","status":"done"/, "PostgreSQL got the new password before the kill");
    const left = await secret();
    assert.equal(left["POSTGRES_PASSWORD"], old, "the Secret still has the old one");
    const next = left["POSTGRES_PASSWORD_NEXT"]!;
    assert.ok(isPassword(next), "PostgreSQL has the new one: the app would be locked out");
    const repair = await runInstaller(c, installArgs(namespace));
    assert.equal(repair.code, 0, repair.stderr);
    assert.ok(
      repair.events
        .find((e) => e.event === "plan")
        .notices.some((n: string) => /an earlier rotation did not finish/.test(n)),
    );
    const after = await secret();
    assert.equal(after["POSTGRES_PASSWORD"], next);
    assert.equal(after["POSTGRES_PASSWORD_NEXT"], undefined);
    assert.ok(isPassword(next));
  });

  for (const [point, at] of [
    ["as the rotation starts", /"step":"rotate","status":"running"/],
    ["once PostgreSQL has the new password", /"step":"rotate","status":"done"/],
    ["once the Secret has it, before the run ends", /"event":"stage","stage":"config"[^}]*"status":"done"/],
  ] as const) {
    it(`a rotation killed ${point}: status names it, and a plain re-run finishes it (PostgreSQL and the Secret agree, nothing pending)`, async () => {
      const { out } = await killedOn(c, installArgs(namespace, "--rotate", "POSTGRES_PASSWORD"), at);
      assert.match(out, at, "killed at the point");
      if ((await secret())["POSTGRES_PASSWORD_NEXT"]) {
        const status = await runInstaller(c, ["status", "--namespace", namespace]);
        assert.equal(status.code, 7);
        assert.match(status.stdout + status.stderr, /ROTATION\s+NOT\s+FINISHED/);
      }
      const repair = await runInstaller(c, installArgs(namespace));
      assert.equal(repair.code, 0, repair.stderr);
      const after = await secret();
      assert.equal(after["POSTGRES_PASSWORD_NEXT"], undefined, "nothing pending");
      assert.ok(isPassword(after["POSTGRES_PASSWORD"]!), "PostgreSQL has the Secret's password");
      assert.equal(decodeURIComponent(new URL(after["DATABASE_URL"]!).password), after["POSTGRES_PASSWORD"]);
    });
  }

  const podsOf = async (app: string) =>
    (await kubectlJson(c, ["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/name=${app}`])).items
      .filter((p: any) => !p.metadata.deletionTimestamp)
      .map((p: any) => p.metadata.name as string);

  it("secrets apply --rotate POSTGRES_PASSWORD sets it inside PostgreSQL first, then the Secret; web and worker restart with it, as an upgrade does", async () => {
    const old = await secret();
    const webBefore = await podsOf("mathison-web");
    const run = await runInstaller(c, ["secrets", "apply", "--namespace", namespace, "--rotate", "POSTGRES_PASSWORD"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /PostgreSQL has the new password/);
    assert.match(run.stderr, /Secret .*\/mathison-secrets: updated/);
    assert.match(run.stderr, /mathison-web and mathison-worker restarted with the new values/);
    const now = await secret();
    assert.notEqual(now["POSTGRES_PASSWORD"], old["POSTGRES_PASSWORD"]);
    assert.equal(now["POSTGRES_PASSWORD_NEXT"], undefined);
    assert.equal(now["AUTH_SECRET"], old["AUTH_SECRET"], "the other secrets are kept");
    assert.ok(isPassword(now["POSTGRES_PASSWORD"]!), "PostgreSQL has the new password");
    assert.ok(!isPassword(old["POSTGRES_PASSWORD"]!), "and not the old one");
    assert.equal(decodeURIComponent(new URL(now["DATABASE_URL"]!).password), now["POSTGRES_PASSWORD"]);
    const webAfter = await podsOf("mathison-web");
    assert.ok(webAfter.length > 0 && webAfter.every((p: string) => !webBefore.includes(p)), "every web pod is new");
    assert.ok(!`${run.stdout}${run.stderr}`.includes(now["POSTGRES_PASSWORD"]!), "never printed");
    const next = await runInstaller(c, installArgs(namespace, "--dry-run"));
    assert.equal(next.code, 0, next.stderr);
    const changed = next.events.find((e) => e.event === "plan").changes.filter((ch: any) => ch.action !== "unchanged");
    assert.deepEqual(changed, [], "the next install sees the digest it would set: nothing to change");
  });

  it("secrets apply --rotate AUTH_SECRET restarts web and worker: no pod signs sessions with the old one", async () => {
    const old = await secret();
    const webBefore = await podsOf("mathison-web");
    const workerBefore = await podsOf("mathison-worker");
    const run = await runInstaller(c, ["secrets", "apply", "--namespace", namespace, "--rotate", "AUTH_SECRET"]);
    assert.equal(run.code, 0, run.stderr);
    assert.notEqual((await secret())["AUTH_SECRET"], old["AUTH_SECRET"]);
    const webAfter = await podsOf("mathison-web");
    const workerAfter = await podsOf("mathison-worker");
    assert.ok(webAfter.length > 0 && webAfter.every((p: string) => !webBefore.includes(p)), "every web pod is new");
    assert.ok(
      workerAfter.length > 0 && workerAfter.every((p: string) => !workerBefore.includes(p)),
      "every worker pod is new",
    );
  });
});
