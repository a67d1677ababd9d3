import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { podTemplateOf, restrictedViolations } from "../../src/render/pod-security.js";
import { allObjects, render } from "../helpers/plan.js";

describe("Pod Security restricted", () => {
  const workloads = allObjects(render()).filter((o) => podTemplateOf(o));
  it("covers every workload of the stack", () => {
    assert.deepEqual(workloads.map((o) => `${o.kind}/${o.metadata.name.replace(/-[0-9a-f]{10}$/, "")}`).sort(), [
      "Deployment/mathison-web",
      "Deployment/mathison-worker",
      "Job/mathison-migrate",
      "StatefulSet/postgres",
      "StatefulSet/redis",
    ]);
  });
  for (const o of workloads) {
    it(`${o.kind}/${o.metadata.name} meets the restricted profile with a read-only root`, () => {
      assert.deepEqual(restrictedViolations(podTemplateOf(o)!.spec), []);
    });
    it(`${o.kind}/${o.metadata.name} mounts an emptyDir or volume for each writable path`, () => {
      const spec = podTemplateOf(o)!.spec;
      const mounts = spec.containers.flatMap((c: any) => c.volumeMounts ?? []).map((m: any) => m.mountPath);
      const expected: Record<string, string[]> = {
        "mathison-web": ["/app/.next/cache", "/tmp"],
        "mathison-worker": ["/tmp"],
        postgres: ["/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"],
        redis: ["/data"],
      };
      const name = o.metadata.name.startsWith("mathison-migrate-") ? "migrate" : o.metadata.name;
      for (const path of expected[name] ?? ["/tmp"]) assert.ok(mounts.includes(path), `${path} is writable`);
    });
  }

  it("names each loosened field", () => {
    const bad = {
      hostNetwork: true,
      volumes: [{ name: "host", hostPath: { path: "/" } }],
      containers: [
        {
          name: "c",
          securityContext: { privileged: true, capabilities: { add: ["SYS_ADMIN"] } },
          ports: [{ hostPort: 80 }],
        },
      ],
    };
    const v = restrictedViolations(bad);
    for (const needle of [
      "hostNetwork",
      "hostPath",
      "privileged",
      "allowPrivilegeEscalation",
      "runAsNonRoot",
      "seccompProfile",
      "drop must include ALL",
      "SYS_ADMIN",
      "hostPort",
      "readOnlyRootFilesystem",
    ]) {
      assert.ok(
        v.some((line) => line.includes(needle)),
        `reports ${needle}: ${v.join("; ")}`,
      );
    }
  });
});
