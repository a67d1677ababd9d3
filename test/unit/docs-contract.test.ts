import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PACKAGE_ROOT } from "../../src/base/paths.js";
import { problemsOf } from "../../src/base/schema.js";
import { generatedPages } from "../../src/cli/docs-pages.js";
import { eventSchemas } from "../../src/engine/events.js";
import { EXIT_OF_OUTCOME, outcomeOfExit } from "../../src/engine/outcomes.js";
import { EXIT_CODE_MEANINGS, type ExitCodeValue } from "../../src/base/exit-codes.js";
import { FIELDS } from "../../src/config/fields.js";
import { breakingChanges, contractProblems } from "../helpers/events.js";
import { runCli } from "../helpers/cli.js";
import { COMMAND_OPTIONS, COMMANDS } from "../../src/cli/args.js";

const read = (path: string): string => readFileSync(join(PACKAGE_ROOT, path), "utf8");

describe("docs generated from the code", () => {
  for (const [path, content] of Object.entries(generatedPages(read))) {
    it(`${path} is what npm run docs makes of the code now`, () => {
      assert.equal(read(path), content, `${path} differs from the code: run npm run docs, and review the change`);
    });
  }
});

describe("docs' claims and the tests behind them", () => {
  const pages = readdirSync(join(PACKAGE_ROOT, "docs")).filter((f) => f.endsWith(".md"));
  // Pages about the project's own making, not behaviour a test can check.
  const ABOUT_THE_PROJECT = ["architecture.md", "benchmark.md", "testing.md"];

  it("every page of behaviour names the tests behind its claims, and each named test exists", () => {
    for (const page of pages) {
      const text = read(`docs/${page}`);
      const refs = [...text.matchAll(/^Tested by: (.*)$/gm)].flatMap((m) => [
        ...m[1]!.matchAll(/`([^`]+)` "([^"]+)"/g),
      ]);
      if (!ABOUT_THE_PROJECT.includes(page)) assert.ok(refs.length > 0, `docs/${page} names no test`);
      for (const [, file, name] of refs) {
        const source = read(file!);
        assert.ok(source.includes(name!), `docs/${page}: ${file} has no test "${name}"`);
      }
    }
  });
});

describe("the settings table", () => {
  it("shows each setting's own default where it has one", () => {
    for (const f of FIELDS.filter((x) => x.default))
      assert.ok(
        f.shownDefault.startsWith(`\`${f.default}\``),
        `${f.flag}: shown ${f.shownDefault}, default ${f.default}`,
      );
  });
});

describe("the event schema", () => {
  const schemas = eventSchemas();

  it("takes the events the code writes, and names what does not fit", () => {
    const done = { ts: "t", event: "done", ok: true, outcome: "ok", elapsedMs: 1, applied: 0, total: 0, message: "m" };
    assert.deepEqual(problemsOf(schemas["done"]!, done), []);
    assert.deepEqual(problemsOf(schemas["done"]!, { ...done, outcome: "fine", extra: 1, ok: undefined }), [
      "(value).ok: missing",
      "(value).extra: not in the schema",
      '(value).outcome: "fine" is not one of ok, verify-failed, cancelled, apply-failed, wait-failed, timeout, interrupted, cluster-access, locked, refused, preflight-failed, backup-failed, internal-error, unhealthy, not-installed',
    ]);
  });

  it("a stream ends with exactly one done, last, agreeing with the exit code", () => {
    const step = { ts: "t", event: "step", step: "stop", status: "done", message: "m" };
    const done = {
      ts: "t",
      event: "done",
      ok: false,
      outcome: "timeout",
      elapsedMs: 1,
      applied: 0,
      total: 0,
      message: "m",
    };
    assert.deepEqual(contractProblems([step, done], 5), []);
    assert.deepEqual(contractProblems([step], 0), ["0 done events; every run ends with exactly one"]);
    assert.deepEqual(contractProblems([done, step], 5), ["done is not the last event (step is)"]);
    assert.deepEqual(contractProblems([step, done], 0), ["done.ok is false and the exit code 0: they must agree"]);
    assert.deepEqual(contractProblems([step], null), [], "a killed run cannot say anything more");
  });

  it("removes or renames nothing the last released schema has (adding is fine)", () => {
    const dir = join(PACKAGE_ROOT, "test/fixtures");
    const released = readdirSync(dir)
      .filter((f) => /^events\.schema\.\d+\.\d+\.\d+\.json$/.test(f))
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
      .at(-1)!;
    const current = JSON.parse(read("docs/events.schema.json"));
    assert.deepEqual(
      breakingChanges(JSON.parse(readFileSync(join(dir, released), "utf8")), current),
      [],
      `a breaking change against ${released}: keep the field, or release it as a breaking change`,
    );
  });

  it("the comparison sees a renamed field, a removed value and a field made optional", () => {
    const current = JSON.parse(read("docs/events.schema.json"));
    const changed = structuredClone(current);
    const done = changed.$defs.done;
    done.properties.result = done.properties.outcome;
    delete done.properties.outcome;
    done.required = done.required.filter((k: string) => k !== "outcome" && k !== "message");
    changed.$defs.check.properties.status.enum = ["pass", "fail"];
    assert.deepEqual(breakingChanges(current, changed), [
      'check.status: value "warn" removed',
      'check.status: value "skip" removed',
      "done.outcome: removed (or renamed)",
      "done.message: no longer always there",
    ]);
  });
});

describe("every JSON Lines stream ends with done", () => {
  it("whatever path a command ends on: bad input, no cluster, success without a stream of its own", async () => {
    const badInput = await runCli(["export", "--output", "json", "--namespace", "x"], {});
    assert.equal(badInput.code, 2);
    assert.deepEqual(contractProblems(lines(badInput.stdout), badInput.code), []);
    assert.equal(lines(badInput.stdout).at(-1).outcome, "refused");
    const noCluster = await runCli(["verify", "--output", "json"], { KUBECONFIG: "/nonexistent/kubeconfig" });
    assert.notEqual(noCluster.code, 0);
    assert.deepEqual(contractProblems(lines(noCluster.stdout), noCluster.code), []);
    const twice = await runCli(["backup", "--output=json", "--namespace", "BAD_NS"], {});
    assert.equal(lines(twice.stdout).filter((e) => e.event === "done").length, 1, "one done, never two");
  });
});

describe("every command's stream ends with one done that agrees with its exit code", () => {
  // Each command that takes --output json, on the two ways every one of them can end before its
  // own work: refused input and an unreachable cluster. (Success, failure, cancel and interrupt
  // are checked on every e2e run that reads a stream: test/helpers/install.ts.)
  const streaming = COMMANDS.filter((c) => Object.hasOwn(COMMAND_OPTIONS[c], "output"));
  /** What each needs to get as far as opening the cluster. restore checks its dump first, so none. */
  const reachesCluster: Partial<Record<(typeof COMMANDS)[number], string[]>> = {
    install: ["install", "--non-interactive"],
    status: ["status"],
    uninstall: ["uninstall", "--non-interactive", "--yes"],
    preflight: ["preflight"],
    "support-bundle": ["support-bundle"],
    verify: ["verify"],
    backup: ["backup"],
    export: ["export", "--gitops", join(PACKAGE_ROOT, "no-such-dir-written")],
    secrets: ["secrets", "apply"],
  };

  it("a run that wrote no done gets one whose outcome stands for its exit code, for every code", () => {
    for (const code of Object.keys(EXIT_CODE_MEANINGS).map(Number) as ExitCodeValue[])
      assert.equal(EXIT_OF_OUTCOME[outcomeOfExit(code)], code, `exit ${code}`);
    assert.equal(outcomeOfExit(5), "wait-failed");
  });

  it("covers every command that takes --output json", () => {
    assert.deepEqual([...streaming].sort(), [...Object.keys(reachesCluster), "restore"].sort());
  });

  for (const command of streaming) {
    it(`${command}: refused input ends with done refused (exit 2); no cluster with done cluster-access (exit 3)`, async () => {
      const named =
        command === "secrets" ? ["secrets", "apply"] : command === "restore" ? ["restore", "x.dump"] : [command];
      const bad = await runCli([...named, "--output", "json", "--no-such-flag"], {});
      assert.equal(bad.code, 2, bad.stderr);
      assert.deepEqual(contractProblems(lines(bad.stdout), bad.code), []);
      assert.equal(lines(bad.stdout).at(-1).outcome, "refused");
      const args = reachesCluster[command];
      if (!args) return;
      const away = await runCli([...args, "--output", "json"], {
        KUBECONFIG: "/nonexistent/kubeconfig",
        ANTHROPIC_API_KEY: "sk-ant-test",
      });
      assert.equal(away.code, 3, away.stderr);
      assert.deepEqual(contractProblems(lines(away.stdout), away.code), []);
      assert.equal(lines(away.stdout).at(-1).outcome, "cluster-access");
    });
  }
});

function lines(stdout: string): any[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}
