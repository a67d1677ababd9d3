import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { describePod, findSecret } from "../../src/support/bundle.js";
import { tarGz } from "../../src/support/tar.js";
import { readTarGz } from "../helpers/tar.js";

describe("support bundle", () => {
  it("a tar.gz that tar reads back, long paths included", () => {
    const long = `logs/${"p".repeat(90)}/${"c".repeat(40)}.previous.log`;
    const files = new Map([
      ["versions.json", "{}\n"],
      [long, "line 1\nline 2\n"],
      ["empty.txt", ""],
    ]);
    assert.deepEqual(readTarGz(tarGz(files)), files);
  });

  it("names of any length, read back whole by tar itself", () => {
    const names = [
      `logs/${"p".repeat(90)}/${"c".repeat(140)}.previous.log`,
      `${"n".repeat(180)}.yaml`,
      `objects/${"d/".repeat(120)}deep.yaml`,
      `logs/${"ü".repeat(60)}.log`,
      "short.txt",
    ];
    const files = new Map(names.map((n, i) => [n, `file ${i}\n`]));
    const dir = mkdtempSync(join(tmpdir(), "tar-"));
    try {
      const listed = execFileSync("tar", ["-tzf", "-"], { input: tarGz(files) })
        .toString("utf8")
        .trim()
        .split("\n");
      assert.deepEqual(listed, names);
      execFileSync("tar", ["-xzf", "-", "-C", dir], { input: tarGz(files) });
      for (const [name, text] of files) assert.equal(readFileSync(join(dir, name), "utf8"), text, name);
      assert.deepEqual(readTarGz(tarGz(files)), files);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds a secret value as is, in base64 and percent-encoded, and ignores short strings", () => {
    const password = "p@ss/word+with=chars";
    assert.equal(findSecret(new Map([["a", "nothing here"]]), [password]), undefined);
    assert.equal(
      findSecret(
        new Map([
          ["a", "x"],
          ["b", `password: ${password}`],
        ]),
        [password],
      ),
      "b",
    );
    assert.equal(findSecret(new Map([["c", `data: ${Buffer.from(password).toString("base64")}`]]), [password]), "c");
    assert.equal(
      findSecret(new Map([["d", `postgresql://mathison:${encodeURIComponent(password)}@postgres`]]), [password]),
      "d",
    );
    assert.equal(findSecret(new Map([["e", "true"]]), ["true"]), undefined, "too short to mean anything");
  });

  it("describes a pod as kubectl describe starts: phase, node, conditions, containers", () => {
    const text = describePod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web-1" },
      spec: { nodeName: "n1" },
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
        containerStatuses: [
          {
            name: "web",
            image: "w:1",
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff" } },
          },
        ],
      },
    });
    assert.match(text, /^Pod web-1\n {2}node: n1\n {2}phase: Running\n/);
    assert.match(text, /Ready=False \(ContainersNotReady\)/);
    assert.match(text, /web \(w:1\): ready=false, restarts=3, state=\{"waiting":\{"reason":"CrashLoopBackOff"\}\}/);
  });
});
