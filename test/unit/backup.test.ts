// Backups without a cluster: file names, where snapshots go and how many stay, the manifest check,
// the dump written through an in-memory cluster, and the WebSocket frames stdin travels in.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DUMP_SCRIPT, factsOf, IN_BIG_WRITES, takeBackup } from "../../src/engine/backup.js";
import { FileSink } from "../../src/base/file-sink.js";
import {
  BackupError,
  backupFileName,
  checkBackup,
  pruneSnapshots,
  snapshotDir,
} from "../../src/engine/backup-files.js";
import { WithoutEofMark } from "../../src/engine/redis-snapshot.js";
import { describeSessions } from "../../src/engine/database.js";
import { FIELD_ROWS_SQL, ROWS_SQL, rowsSqlFor, schemaDifference, schemaOf } from "../../src/engine/schema-summary.js";
import { exitCodeOf } from "../../src/kube/exec-stream.js";
import { fileProblem } from "../../src/base/file-errors.js";
import { clientFrame } from "../../src/kube/ws-frames.js";
import { FakeKube } from "../helpers/fake-kube.js";

const made: string[] = [];
const dir = () => {
  made.push(mkdtempSync(join(tmpdir(), "mathison-backup-unit-")));
  return made.at(-1)!;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const input = (file: string) => ({
  namespace: "ns",
  file,
  installerVersion: "9.9.9",
  images: { web: "web:1", worker: "worker:1" },
});

describe("what a restore checks", () => {
  it("a database's tables and extensions from psql's rows; differences named both ways", () => {
    const dump = schemaOf([
      ["extension", "vector"],
      ["table", "public._prisma_migrations"],
      ["table", "public.notes"],
    ]);
    assert.deepEqual(dump, { tables: ["public._prisma_migrations", "public.notes"], extensions: ["vector"] });
    assert.equal(schemaDifference(dump, dump), "");
    const found = { tables: ["public.notes", "public.later"], extensions: [] };
    assert.equal(
      schemaDifference(dump, found),
      "tables missing: public._prisma_migrations; tables not in the dump: public.later; extensions missing: vector",
    );
  });

  it("facts whose head the exec did not keep (no size line) record no schema, rather than a partial one", () => {
    assert.equal(factsOf("table|public.b\nrows|public.b|1|2\n").schema, undefined);
    assert.deepEqual(factsOf("size|10\ntable|public.b\n").schema, { tables: ["public.b"], extensions: [] });
  });

  it("rows: a count or a checksum that differs names its table; a manifest without rows compares none", () => {
    const rows = (n: string, sum: string) => [
      ["table", "public.notes"],
      ["rows", "public.notes", n, sum],
    ];
    const dump = schemaOf(rows("3", "99"));
    assert.deepEqual(dump.rows, { "public.notes": { rows: 3, checksum: "99" } });
    assert.equal(schemaDifference(dump, schemaOf(rows("3", "99"))), "");
    assert.equal(
      schemaDifference(dump, schemaOf(rows("2", "99"))),
      "table public.notes has 2 rows, the dump's manifest says 3",
    );
    assert.equal(
      schemaDifference(dump, schemaOf(rows("3", "98"))),
      "table public.notes's rows differ from the dump's (checksum)",
    );
    assert.equal(schemaDifference(schemaOf([["table", "public.notes"]]), schemaOf(rows("2", "1"))), "");
  });

  it("rows hashed by their fields (what backups record now) or by their text (older manifests): each checked the way it was recorded", () => {
    const lines = (kind: string, n: string) => [
      ["table", "public.notes"],
      [kind, "public.notes", n, "7"],
    ];
    const now = schemaOf(lines("fieldRows", "3"));
    assert.deepEqual(now.fieldRows, { "public.notes": { rows: 3, checksum: "7" } });
    assert.equal(now.rows, undefined);
    assert.equal(rowsSqlFor(now), FIELD_ROWS_SQL);
    assert.match(FIELD_ROWS_SQL, /hash_record_extended/);
    assert.equal(
      schemaDifference(now, schemaOf(lines("fieldRows", "2"))),
      "table public.notes has 2 rows, the dump's manifest says 3",
    );
    const older = schemaOf(lines("rows", "3"));
    assert.equal(rowsSqlFor(older), ROWS_SQL);
    assert.equal(
      schemaDifference(older, schemaOf(lines("rows", "2"))),
      "table public.notes has 2 rows, the dump's manifest says 3",
    );
    assert.equal(rowsSqlFor(schemaOf([["table", "public.notes"]])), "", "no rows recorded: none counted");
    assert.deepEqual(factsOf("size|10\ntable|public.notes\nfieldRows|public.notes|3|7\n").schema, now);
  });

  it("clients in the way are named by pid, application, address, state and what they hold", () => {
    assert.equal(
      describeSessions([
        {
          pid: "4711",
          application: "psql",
          client: "10.0.0.7",
          state: "idle in transaction",
          holds: "AccessShareLock on notes",
        },
        { pid: "12", application: "-", client: "local", state: "idle", holds: "" },
      ]),
      "pid 4711 (psql, from 10.0.0.7, idle in transaction) holding AccessShareLock on notes; pid 12 (-, from local, idle)",
    );
  });
});

describe("backups", () => {
  it("a restore of a file that is not there names the dump, then its manifest, in words", async () => {
    const d = dir();
    const dump = join(d, "nope.dump");
    await assert.rejects(checkBackup(dump), (e: Error) => e.message === `the dump ${dump} does not exist`);
    writeFileSync(dump, "x");
    await assert.rejects(
      checkBackup(dump),
      (e: Error) =>
        e.message === `its manifest ${dump}.json does not exist: a backup is the dump and its manifest beside it`,
    );
    writeFileSync(`${dump}.json`, "{not json");
    await assert.rejects(checkBackup(dump), /its manifest .*\.json is not JSON/);
  });

  it("file system errors in words, never Node's codes", () => {
    for (const code of ["ENOENT", "EACCES", "EISDIR", "ENOSPC", "EROFS", "EIO", "EPERM", "ENOTDIR"]) {
      const said = fileProblem(Object.assign(new Error(`${code}: raw`), { code }));
      assert.doesNotMatch(said, /E[A-Z]{3,}/, `${code}: ${said}`);
    }
    assert.equal(fileProblem(Object.assign(new Error("x"), { code: "ENOENT" })), "does not exist");
  });

  it("names sort by time; snapshots go under XDG_DATA_HOME (else ~/.local/share) per context and namespace", () => {
    assert.equal(backupFileName("ns", new Date("2026-11-27T11:30:00.123Z")), "ns-20261127T113000Z.dump");
    assert.equal(snapshotDir({ XDG_DATA_HOME: "/d" }, "prod/eu", "ns"), "/d/mathison-install/backups/prod_eu/ns");
    assert.equal(snapshotDir({ HOME: "/home/a" }, "c", "ns"), "/home/a/.local/share/mathison-install/backups/c/ns");
  });

  it("keeps the newest five dumps and their manifests", () => {
    const d = dir();
    for (let i = 1; i <= 7; i++) {
      writeFileSync(join(d, `ns-2026010${i}T000000Z.dump`), "x");
      writeFileSync(join(d, `ns-2026010${i}T000000Z.dump.json`), "{}");
    }
    writeFileSync(join(d, "ns-20260101T000000Z.dump.rdb"), "REDIS");
    assert.deepEqual(pruneSnapshots(d), ["ns-20260101T000000Z.dump", "ns-20260102T000000Z.dump"]);
    assert.ok(!existsSync(join(d, "ns-20260101T000000Z.dump.rdb")), "a Redis snapshot goes with its dump");
    assert.equal(readdirSync(d).length, 10);
  });

  it("streams the dump to FILE (0600) with its sha256 in the manifest; the check finds a damaged copy", async () => {
    const kube = new FakeKube();
    kube.execAnswer = (_pod, command) =>
      command[2] === DUMP_SCRIPT
        ? {
            exitCode: 0,
            stdout: "PGDMP fake dump",
            stderr: "size|4096\ntable|public.notes\nextension|vector\nrows|public.notes|3|-1234567\n",
          }
        : { exitCode: 1, stdout: "", stderr: "no other command is run\n" };
    const file = join(dir(), "b.dump");
    const manifest = await takeBackup(kube, input(file));
    assert.equal(readFileSync(file, "utf8"), "PGDMP fake dump");
    assert.match(String(kube.stdinSeen), /REPEATABLE READ.*pg_export_snapshot.*pg_dump --snapshot=/s, "one snapshot");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(manifest.bytes, 15);
    assert.equal(manifest.database.sizeBytes, 4096);
    assert.deepEqual(manifest.schema, {
      tables: ["public.notes"],
      extensions: ["vector"],
      rows: { "public.notes": { rows: 3, checksum: "-1234567" } },
    });
    assert.equal((await checkBackup(file)).sha256, manifest.sha256);
    writeFileSync(file, "PGDMP fake dumq");
    await assert.rejects(checkBackup(file), /it is damaged/);
  });

  it("a pg_dump that fails leaves nothing: no dump, no partial file, pg_dump's words in the error", async () => {
    const kube = new FakeKube();
    kube.execAnswer = (_pod, command) =>
      command[2] === DUMP_SCRIPT
        ? {
            exitCode: 0,
            stdout: "PGDMP half",
            stderr: "size|1\npg_dump: error: connection refused\nmathison-install: pg_dump exited 1\n",
          }
        : { exitCode: 0, stdout: "1", stderr: "" };
    const d = dir();
    await assert.rejects(
      takeBackup(kube, input(join(d, "b.dump"))),
      (err: unknown) =>
        err instanceof BackupError && /pg_dump exited 1: pg_dump: error: connection refused/.test(err.message),
    );
    assert.deepEqual(readdirSync(d), []);
    assert.ok(!existsSync(join(d, "b.dump.partial")));
  });

  it("--include-redis: Redis's RDB beside the dump, in the manifest and checked; a failed snapshot leaves no backup at all", async () => {
    const kube = new FakeKube();
    let redisFails = false;
    kube.execAnswer = (pod, command) => {
      if (command[2] === DUMP_SCRIPT) return { exitCode: 0, stdout: "PGDMP fake dump", stderr: "" };
      if (command[0] === "redis-cli") {
        assert.equal(pod, "redis-0");
        assert.deepEqual(command, ["redis-cli", "--rdb", "-"]);
        return redisFails
          ? { exitCode: 1, stdout: "REDIS0", stderr: "Could not connect to Redis\n" }
          : { exitCode: 0, stdout: "REDIS0011 fake", stderr: "sending REPLCONF\n" };
      }
      return { exitCode: 0, stdout: "1", stderr: "" };
    };
    const d = dir();
    const file = join(d, "b.dump");
    const manifest = await takeBackup(kube, { ...input(file), includeRedis: true });
    assert.deepEqual(manifest.redis && { file: manifest.redis.file, bytes: manifest.redis.bytes }, {
      file: "b.dump.rdb",
      bytes: 14,
    });
    assert.equal(statSync(`${file}.rdb`).mode & 0o777, 0o600);
    await checkBackup(file);
    writeFileSync(`${file}.rdb`, "REDIS0011 fakf");
    await assert.rejects(checkBackup(file), /b\.dump\.rdb's sha256 .* it is damaged/);

    redisFails = true;
    const e = dir();
    await assert.rejects(
      takeBackup(kube, { ...input(join(e, "c.dump")), includeRedis: true }),
      /redis-cli --rdb exited 1: Could not connect to Redis/,
    );
    assert.deepEqual(readdirSync(e), [], "no dump without its Redis snapshot, no partial file");
  });

  it("a Redis snapshot loses the replication stream's end mark redis-cli leaves on stdout, and nothing else", async () => {
    const rdb = Buffer.concat([Buffer.from("REDIS0011 some keys"), Buffer.from([0xff]), Buffer.from("8bytesum")]);
    const mark = Buffer.from("1b777c4d54f8640c96740 0d85fa934c73b258c7f".replace(" ", ""));
    const through = async (input: Buffer, chunk: number): Promise<Buffer> => {
      const t = new WithoutEofMark();
      const out: Buffer[] = [];
      t.on("data", (b: Buffer) => out.push(b));
      for (let i = 0; i < input.length; i += chunk) t.write(input.subarray(i, i + chunk));
      t.end();
      await new Promise((r) => t.on("end", r));
      return Buffer.concat(out);
    };
    for (const chunk of [1, 7, 1000]) {
      assert.deepEqual(await through(Buffer.concat([rdb, mark]), chunk), rdb, `chunks of ${chunk}`);
      assert.deepEqual(await through(rdb, chunk), rdb, "without a mark: unchanged");
    }
    const notAMark = Buffer.concat([rdb, Buffer.from("x".repeat(40))]);
    assert.deepEqual(await through(notAMark, 5), notAMark);
  });

  it("exec's status gives the exit code however the runtime says it", () => {
    assert.equal(exitCodeOf({ status: "Success" }), 0);
    assert.equal(exitCodeOf({ status: "Failure", details: { causes: [{ reason: "ExitCode", message: "3" }] } }), 3);
    assert.equal(exitCodeOf({ status: "Failure", message: "command terminated with exit code 2" }), 2);
    assert.equal(exitCodeOf({ status: "Failure", message: "container not found" }), undefined);
  });

  it("the dump's file sink: every byte written in order, hashed and counted, empty chunks included", async () => {
    const file = join(dir(), "sink");
    const fd = openSync(file, "w");
    const sink = new FileSink(fd);
    const chunks = [randomBytes(10), Buffer.alloc(0), randomBytes(700_000), randomBytes(32_768), randomBytes(900_000)];
    for (const c of chunks) sink.write(c);
    await new Promise((resolve, reject) => sink.end(resolve).once("error", reject));
    closeSync(fd);
    const all = Buffer.concat(chunks);
    assert.deepEqual(readFileSync(file), all);
    assert.equal(sink.bytes, all.length);
    assert.equal(sink.digest(), createHash("sha256").update(all).digest("hex"));
  });

  it("the dump's file sink fails with the disk's own error (ENOSPC) when a batch cannot be written", async () => {
    const fd = openSync("/dev/full", "w");
    const sink = new FileSink(fd);
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => sink.once("error", resolve));
    sink.write(randomBytes(2 * 1024 * 1024));
    assert.equal((await failed).code, "ENOSPC");
    closeSync(fd);
  });

  it("pg_dump's output is passed on whole, by dd in 1 MiB writes or by cat where dd cannot", () => {
    const data = randomBytes(3_000_000);
    const through = (env: NodeJS.ProcessEnv) =>
      execFileSync("sh", ["-c", IN_BIG_WRITES], { input: data, env, maxBuffer: 8e6 });
    assert.deepEqual(through(process.env), data);
    // An image whose dd refuses `iflag=fullblock` (or has no dd): cat passes it all the same.
    const bin = dir();
    writeFileSync(join(bin, "dd"), "#!/bin/sh\necho 'dd: unknown operand iflag' >&2\nexit 1\n");
    chmodSync(join(bin, "dd"), 0o755);
    assert.deepEqual(through({ ...process.env, PATH: `${bin}:${process.env["PATH"]}` }), data);
  });

  it("client frames are masked and carry 7-, 16- and 64-bit lengths", () => {
    for (const length of [5, 300, 70_000]) {
      const payload = Buffer.alloc(length, 7);
      const frame = clientFrame(2, payload);
      assert.equal(frame[0], 0x82);
      const code = frame[1]! & 0x7f;
      const [size, offset] =
        code < 126 ? [code, 2] : code === 126 ? [frame.readUInt16BE(2), 4] : [Number(frame.readBigUInt64BE(2)), 10];
      assert.equal(size, length);
      assert.ok(frame[1]! & 0x80, "masked");
      const mask = frame.subarray(offset, offset + 4);
      const body = frame.subarray(offset + 4);
      assert.ok(body.every((b, i) => (b ^ mask[i & 3]!) === 7));
    }
  });
});

describe("--rotate", () => {
  it("takes POSTGRES_PASSWORD and AUTH_SECRET; anything else names the flag and what is allowed", async () => {
    const { parseRotate } = await import("../../src/config/installed.js");
    assert.deepEqual(parseRotate("POSTGRES_PASSWORD, AUTH_SECRET"), ["postgresPassword", "authSecret"]);
    assert.deepEqual(parseRotate(undefined), []);
    assert.match(
      parseRotate("ANTHROPIC_API_KEY") as string,
      /^--rotate: "ANTHROPIC_API_KEY" is not allowed: POSTGRES_PASSWORD and\/or AUTH_SECRET/,
    );
  });

  it("a rotated secret is generated anew and the run says what it means; the password is never refused", async () => {
    const { decideSecrets } = await import("../../src/config/installed.js");
    const installed = {
      answers: {},
      secrets: { postgresPassword: "old", authSecret: "a" },
      recordName: "r",
      secretName: "s",
    };
    const d = decideSecrets(
      installed,
      () => undefined,
      ["postgresPassword", "authSecret"],
      ["postgresPassword", "authSecret"],
    );
    assert.deepEqual(d.problems, []);
    assert.deepEqual(d.kept, {});
    assert.deepEqual(d.fallback, {}, "nothing kept: both are generated");
    assert.ok(
      d.notices.some((n) =>
        /POSTGRES_PASSWORD: rotated \(--rotate\): the new one is set inside PostgreSQL first/.test(n),
      ),
    );
    assert.ok(d.notices.some((n) => /AUTH_SECRET: rotated \(--rotate\).*every signed-in session ends/.test(n)));
  });
});
