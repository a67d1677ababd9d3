// A restore's flow on the in-memory cluster, its database answering as PostgreSQL would: web and
// worker stopped, the dump streamed into a new database, checked against the manifest, swapped in
// by rename, the migration run again, web and worker started as they were; and the ways it stops
// with the old data intact.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ExitCode } from "../../src/base/exit-codes.js";
import type { BackupManifest } from "../../src/engine/backup-files.js";
import { runInstallPipeline } from "../../src/pipeline/install.js";
import { type RestoreFrontEnd, runRestore, type RestoreOptions } from "../../src/pipeline/restore.js";
import { readInstallState } from "../../src/record/store.js";
import { scriptFrontEnd } from "../../src/ui/script-front-end.js";
import type { FakeKube } from "../helpers/fake-kube.js";
import { capturedIO, healthyFake, pipelineOptions } from "../helpers/fake-cluster.js";

const NS = "unit-restore";
const DUMP = Buffer.from("PGDMP a custom-format dump, as pg_dump wrote it");

/** What the dump holds, as its manifest records it and the restored database answers. */
const HOLDS = "table|public.notes\nextension|vector\nrows|public.notes|3|-99\n";

function backupFiles(rows = "3"): string {
  const dir = mkdtempSync(join(tmpdir(), "mathison-restore-"));
  const file = join(dir, "b.dump");
  writeFileSync(file, DUMP, { mode: 0o600 });
  const manifest: BackupManifest = {
    format: "mathison-install-backup/1",
    installerVersion: "0.1.0",
    createdAt: "2026-12-06T10:00:00.000Z",
    context: "fake",
    namespace: NS,
    database: { name: "mathison", user: "mathison", sizeBytes: 4096 },
    images: { web: "mathison-web:latest", worker: "mathison-worker:latest" },
    schema: {
      tables: ["public.notes"],
      extensions: ["vector"],
      rows: { "public.notes": { rows: Number(rows), checksum: "-99" } },
    },
    lastMigration: "mathison-migrate-abc",
    file: "b.dump",
    bytes: DUMP.length,
    sha256: createHash("sha256").update(DUMP).digest("hex"),
  };
  writeFileSync(`${file}.json`, JSON.stringify(manifest), { mode: 0o600 });
  return file;
}

/** PostgreSQL as the restore talks to it: the SQL (stdin or -c) it was sent, in order, and what it answered. */
function database(
  fake: FakeKube,
  options: { holderInTheWay?: boolean; restoredRows?: string } = {},
): { said: string[]; restored: () => Buffer | undefined } {
  const said: string[] = [];
  let restored: Buffer | undefined;
  fake.execAnswer = (_pod, command) => {
    const script = command[2] ?? "";
    // SQL comes as psql's stdin (`head -c "$0" | psql`), a constant statement as psql -c "$0".
    const sql = script.includes("pg_restore")
      ? "pg_restore"
      : script.startsWith("head -c")
        ? String(fake.stdinSeen ?? "")
        : (command[3] ?? "");
    said.push(sql.split("\n")[0]!.slice(0, 80));
    if (sql === "pg_restore") {
      restored = fake.stdinSeen;
      return { exitCode: 0, stdout: "", stderr: "" };
    }
    if (/pg_terminate_backend/.test(sql)) return { exitCode: 0, stdout: "0\n", stderr: "" };
    if (/FROM pg_database WHERE datname IN/.test(sql)) return { exitCode: 0, stdout: "", stderr: "" };
    if (/'table'/.test(sql))
      return {
        exitCode: 0,
        stdout: HOLDS.replace("rows|public.notes|3|", `rows|public.notes|${options.restoredRows ?? "3"}|`),
        stderr: "",
      };
    if (/pg_stat_activity/.test(sql))
      return {
        exitCode: 0,
        stdout: options.holderInTheWay ? "4711|psql|10.0.0.7|idle in transaction|AccessShareLock on notes\n" : "",
        stderr: "",
      };
    if (/SELECT 1/.test(sql)) return { exitCode: 0, stdout: "1\n", stderr: "" };
    if (/pg_extension/.test(sql)) return { exitCode: 0, stdout: "0.8.1\n", stderr: "" };
    if (/PING|redis-cli/.test(command.join(" "))) return { exitCode: 0, stdout: "PONG\n", stderr: "" };
    return { exitCode: 0, stdout: "", stderr: "" };
  };
  return { said, restored: () => restored };
}

async function installed(): Promise<FakeKube> {
  const fake = healthyFake();
  const io = capturedIO({ ANTHROPIC_API_KEY: "sk-unit-test" });
  const fe = scriptFrontEnd({
    flags: { namespace: NS, domain: "m.example", tls: "none" },
    io,
    format: "json",
    replaceSecrets: [],
  });
  assert.equal(await runInstallPipeline(pipelineOptions(fake, NS), fe), ExitCode.ok, io.errors());
  return fake;
}

async function restore(fake: FakeKube, file: string, timeoutMs = 5_000) {
  const io = capturedIO();
  const fe: RestoreFrontEnd = {
    ...scriptFrontEnd({ flags: {}, io, format: "json", replaceSecrets: [] }),
    showRestorePlan: () => undefined,
    confirm: async () => true,
  };
  const options: RestoreOptions = {
    cluster: {},
    open: () => fake,
    namespace: NS,
    file,
    lockTimeoutMs: 0,
    timeoutMs,
    // The web UI's address answers nothing here: the network checks fail, the run exits 10 for them.
    network: { resolve: new Map([["m.example", "127.0.0.1"]]), ports: new Map([["m.example", 9]]) },
  };
  const code = await runRestore(options, fe);
  return { code, events: io.events(), stderr: io.errors() };
}

const steps = (events: any[]) =>
  events.filter((e) => e.event === "step" && e.status !== "running").map((e) => `${e.step} ${e.status}`);

describe("a restore on the in-memory cluster", () => {
  it("stops web and worker, restores into a new database, checks it, swaps it in, migrates, starts them as they were", async () => {
    const fake = await installed();
    const { said, restored } = database(fake);
    const run = await restore(fake, backupFiles());
    assert.ok([ExitCode.ok, ExitCode.verifyFailed].includes(run.code as 0 | 10), `${run.stderr}\n${said.join("\n")}`);
    assert.deepEqual(steps(run.events), ["stop done", "restore done", "migrate done", "start done"]);
    const order = said.map((s) =>
      /CREATE DATABASE/.test(s)
        ? "create"
        : s === "pg_restore"
          ? "pg_restore"
          : /'table'/.test(s)
            ? "check"
            : /RENAME/.test(s)
              ? "swap"
              : /DROP DATABASE/.test(s)
                ? "drop"
                : "",
    );
    const flow = order.filter(Boolean);
    assert.deepEqual(flow.slice(0, 5), ["create", "pg_restore", "check", "swap", "drop"], said.join("\n"));
    assert.deepEqual(restored(), DUMP, "pg_restore read the dump, whole");
    const web = await fake.get({ apiVersion: "apps/v1", kind: "Deployment", name: "mathison-web", namespace: NS });
    assert.equal(web?.spec?.replicas, 2, "web is back at its count");
    const state = await readInstallState(fake, NS);
    assert.equal(state.record.restoring, undefined, "no restore pending");
    assert.equal(state.record.history.at(-1)?.outcome, "restored");
    assert.equal(run.events.at(-1).event, "done");
  });

  it("a dump that restores to other rows than its manifest: stopped before the swap, the old database as it was", async () => {
    const fake = await installed();
    const { said } = database(fake, { restoredRows: "2" });
    const run = await restore(fake, backupFiles());
    assert.equal(run.code, ExitCode.wait, run.stderr);
    assert.match(
      run.stderr,
      /table public\.notes has 2 rows, the dump's manifest says 3; database mathison is as it was/,
    );
    assert.ok(!said.some((s) => /RENAME/.test(s)), "nothing was swapped");
    assert.ok(
      said.some((s) => /DROP DATABASE IF EXISTS "mathison_restoring"/.test(s)),
      "the half-made database is dropped",
    );
    assert.equal(run.events.at(-1).outcome, "wait-failed");
    const state = await readInstallState(fake, NS);
    assert.ok(state.record.restoring, "status can say a restore did not finish");
  });

  it("a client in the way at the commit point: named, and nothing swapped when --timeout runs out (exit 5)", async () => {
    const fake = await installed();
    const { said } = database(fake, { holderInTheWay: true });
    const run = await restore(fake, backupFiles(), 1_500);
    assert.equal(run.code, ExitCode.wait, run.stderr);
    assert.match(
      run.stderr,
      /pid 4711 \(psql, from 10\.0\.0\.7, idle in transaction\) holding AccessShareLock on notes/,
    );
    assert.ok(!said.some((s) => /RENAME/.test(s)), "nothing was swapped");
    assert.equal(run.events.at(-1).outcome, "timeout");
  });
});
