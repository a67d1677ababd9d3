// Ctrl-C and SIGTERM at any moment end the run within 2 s with exit 130 (or its own code, when it
// had already finished), the lock freed: ten points spread over each command that changes or reads
// an install (an upgrade with its backup, a backup, a restore, a rotation, secrets apply, verify, a
// fresh install, an uninstall, an export), each measured from a run of the same command that was not
// interrupted.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { kubectl, testCluster, uniqueNamespace, type TestCluster } from "../helpers/cluster.js";
import { backingServers } from "../helpers/standins.js";
import { installArgs, runInstaller, startInstaller, tidy, type InstallRun } from "../helpers/install.js";

const { cluster, skip } = testCluster();
const POINTS = 10;

interface Interrupted {
  readonly atMs: number;
  readonly signal: "SIGINT" | "SIGTERM";
  readonly run: InstallRun;
  /** From the signal to the process's exit. */
  readonly exitMs: number;
}

/**
 * Whether the launcher's first lines ran: they take Ctrl-C and SIGTERM over, then turn on Node's
 * compile cache, which makes its directory. (Linux's SigCgt mask cannot tell: Node catches both
 * from its start, to end the process by the signal until a program listens.)
 */
function launcherStarted(cacheHome: string): boolean {
  return existsSync(join(cacheHome, "mathison-install", "compile-cache"));
}

/**
 * Runs `args`, sends the signal `atMs` after the spawn — once the program catches signals, however
 * long Node took to start it on a loaded machine — and times the exit from the signal.
 */
async function interruptAt(
  c: TestCluster,
  args: readonly string[],
  env: Record<string, string>,
  atMs: number,
  signal: "SIGINT" | "SIGTERM",
): Promise<Interrupted> {
  const spawnedAt = Date.now();
  // A cache directory of its own: its appearance says this run's launcher has started.
  const cacheHome = mkdtempSync(join(tmpdir(), "mathison-interrupt-cache-"));
  const { child, result } = startInstaller(c, args, { ...env, XDG_CACHE_HOME: cacheHome });
  let exited = false;
  void result.finally(() => {
    exited = true;
    rmSync(cacheHome, { recursive: true, force: true });
  });
  while (!exited && !launcherStarted(cacheHome) && Date.now() - spawnedAt < 5_000)
    await new Promise((r) => setTimeout(r, 2));
  let sentAt = 0;
  const timer = setTimeout(
    () => {
      sentAt = Date.now();
      child.kill(signal);
    },
    Math.max(0, atMs - (Date.now() - spawnedAt)),
  );
  const run = await result;
  clearTimeout(timer);
  return { atMs, signal, run, exitMs: sentAt === 0 ? 0 : Date.now() - sentAt };
}

async function leaseLeft(c: TestCluster, namespace: string): Promise<boolean> {
  return (await kubectl(c, ["-n", namespace, "get", "lease/mathison-install-lock"])).code === 0;
}

/**
 * The points: spread over the measured run from 250 ms (each sent no sooner than the program
 * catches signals: interruptAt) to 70 % of it (a re-run resumes, and so runs shorter).
 */
function points(durationMs: number): number[] {
  return Array.from({ length: POINTS }, (_, i) => Math.round(250 + (i * (durationMs * 0.7 - 250)) / (POINTS - 1)));
}

describe("interrupts end every run", { skip, timeout: 600_000 }, () => {
  const c = cluster!;
  const namespace = uniqueNamespace("e2e-interrupt");
  const data = mkdtempSync(join(tmpdir(), "mathison-interrupt-"));
  const env = { XDG_DATA_HOME: data };
  let tag = 0;
  const upgrade = () => [...installArgs(namespace, "--tag", `3.${++tag}.0`)];

  before(async () => {
    const run = await runInstaller(c, installArgs(namespace, "--tag", "3.0.0"), env);
    assert.equal(run.code, 0, run.stderr);
  });
  after(async () => {
    await tidy(c, namespace);
    rmSync(data, { recursive: true, force: true });
  });

  /**
   * Each point: exit within 2 s of the signal, 130 unless it had already ended (`ended`: its own
   * codes), no lock left behind.
   */
  async function everyPointEnds(
    command: () => string[],
    finish: () => Promise<void>,
    ended: readonly number[] = [0],
    lockOf: () => string = () => namespace,
    interruptedAtLeast = 6,
  ): Promise<void> {
    // Measured twice, the shorter kept: a first run may pay for what later ones find done (pods
    // already gone, caches warm), and points past the end of a run interrupt nothing.
    let measuredMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 2; i++) {
      const measured = await runInstaller(c, command(), env);
      assert.ok(ended.includes(measured.code), measured.stderr);
      measuredMs = Math.min(measuredMs, measured.ms);
      await finish();
    }
    const seen: string[] = [];
    for (const [i, at] of points(measuredMs).entries()) {
      const r = await interruptAt(c, command(), env, at, i % 2 === 0 ? "SIGINT" : "SIGTERM");
      const what = `${r.signal} at ${at} ms of ${measuredMs}: exit ${r.run.code} after ${r.exitMs} ms`;
      seen.push(what);
      assert.ok([130, ...ended].includes(r.run.code), `${what}\n${r.run.stderr}`);
      // However it ended (a verification under way finishes its verdict), within 2 s of the signal.
      assert.ok(r.exitMs <= 2_000, `${what}\n${r.run.stderr}`);
      assert.equal(await leaseLeft(c, lockOf()), false, `${what}: the lock was freed\n${r.run.stderr}`);
      await finish();
    }
    assert.ok(
      seen.filter((s) => /exit 130/.test(s)).length >= interruptedAtLeast,
      `most points interrupted the run:\n${seen.join("\n")}`,
    );
  }

  it("an upgrade with its backup before the migration", async () => {
    await everyPointEnds(upgrade, async () => undefined);
    // And the install is whole again: a re-run finishes what was left.
    const resumed = await runInstaller(c, upgrade(), env);
    assert.equal(resumed.code, 0, resumed.stderr);
  });

  it("a backup", async () => {
    const out = join(data, "manual.dump");
    await everyPointEnds(
      () => ["backup", "--namespace", namespace, "--out", out],
      async () => rmSync(out, { force: true }),
    );
  });

  it("a restore; a re-run after the last interrupt finishes it", async () => {
    const dump = join(data, "for-restore.dump");
    const backup = await runInstaller(c, ["backup", "--namespace", namespace, "--out", dump], env);
    assert.equal(backup.code, 0, backup.stderr);
    const restore = () => ["restore", dump, "--namespace", namespace, "--yes", "--output", "json"];
    // A restore ends with the checklist, which fails here on the Ingress alone (no controller): 10.
    await everyPointEnds(restore, async () => undefined, [0, 10]);
    const finished = await runInstaller(c, restore(), env);
    assert.ok([0, 10].includes(finished.code), finished.stderr);
    // Nothing the interrupted runs left: no working database, no session of theirs.
    assert.equal(
      backingServers(c).query(
        "SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE 'mathison\\_re%') || ' ' || (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'mathison-install%')",
      ),
      "0 0",
    );
  });

  it("a rotation of POSTGRES_PASSWORD; a plain re-run finishes the last one", async () => {
    const rotate = () => [...installArgs(namespace, "--tag", `3.${tag}.0`, "--rotate", "POSTGRES_PASSWORD")];
    await everyPointEnds(rotate, async () => undefined);
    const resumed = await runInstaller(c, installArgs(namespace, "--tag", `3.${tag}.0`), env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const status = await runInstaller(c, ["status", "--namespace", namespace, "--output", "json"], env);
    assert.doesNotMatch(status.stdout, /"rotating":\s*true/, "no rotation left unfinished");
  });

  it("secrets apply rotating AUTH_SECRET (web and worker roll)", async () => {
    await everyPointEnds(
      () => ["secrets", "apply", "--namespace", namespace, "--rotate", "AUTH_SECRET"],
      async () => undefined,
    );
  });

  it("verify (its checklist fails on the Ingress alone: 10)", async () => {
    await everyPointEnds(
      () => ["verify", "--namespace", namespace, "--output", "json"],
      async () => undefined,
      [0, 10],
    );
  });

  it("a fresh install, each in a namespace of its own", async () => {
    const fresh: string[] = [];
    try {
      await everyPointEnds(
        () => {
          fresh.push(uniqueNamespace("e2e-fresh"));
          return installArgs(fresh.at(-1)!);
        },
        async () => tidy(c, fresh.at(-1)!),
        [0],
        () => fresh.at(-1)!,
      );
    } finally {
      await Promise.all(fresh.map((ns) => tidy(c, ns)));
    }
  });

  it("an uninstall; the install is put back after each", async () => {
    await everyPointEnds(
      () => ["uninstall", "--namespace", namespace, "--yes", "--non-interactive"],
      async () => {
        const back = await runInstaller(c, installArgs(namespace, "--tag", `3.${tag}.0`), env);
        assert.equal(back.code, 0, back.stderr);
      },
    );
  });
  it("an export", async () => {
    const dir = join(data, "export");
    // An export is over in half a second, most of it Node starting and the cluster's reads: a
    // signal at most points finds it writing its files, which it finishes (exit 0, files whole).
    await everyPointEnds(
      () => ["export", "--gitops", dir, "--namespace", namespace],
      async () => rmSync(dir, { recursive: true, force: true }),
      [0],
      () => namespace,
      1,
    );
  });
});
