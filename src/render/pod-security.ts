import type { KubeObject } from "../facts/objects.js";

// The Pod Security Standard "restricted" profile (which includes "baseline"), as rules over a pod
// spec, plus readOnlyRootFilesystem, which Mathison requires on top. Pure: the API server's
// PodSecurity admission is the authority at apply time; this names the offending field earlier.

const RESTRICTED_VOLUME_TYPES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** The pod template of a workload, or undefined for kinds that have none. */
export function podTemplateOf(obj: KubeObject): Json | undefined {
  if (obj.kind === "Pod") return obj;
  if (obj.kind === "CronJob") return obj.spec?.jobTemplate?.spec?.template;
  return obj.spec?.template;
}

/** Every way a pod spec breaks the restricted profile or Mathison's read-only root rule. */
export function restrictedViolations(podSpec: Json): string[] {
  const out: string[] = [];
  const podCtx: Json = podSpec.securityContext ?? {};
  for (const key of ["hostNetwork", "hostPID", "hostIPC"]) if (podSpec[key]) out.push(`spec.${key} must not be true`);
  for (const v of podSpec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (!type || !RESTRICTED_VOLUME_TYPES.has(type)) out.push(`volume ${v.name}: type ${type} is not allowed`);
  }
  if (podCtx.runAsUser === 0) out.push("spec.securityContext.runAsUser must not be 0");
  const containers: Json[] = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
  for (const c of containers) {
    const ctx: Json = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (ctx.privileged) out.push(`${where}: privileged must not be true`);
    if (ctx.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation must be false`);
    const runAsNonRoot = ctx.runAsNonRoot ?? podCtx.runAsNonRoot;
    if (runAsNonRoot !== true) out.push(`${where}: runAsNonRoot must be true (pod or container)`);
    if (ctx.runAsUser === 0) out.push(`${where}: runAsUser must not be 0`);
    const seccomp = (ctx.seccompProfile ?? podCtx.seccompProfile)?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
      out.push(`${where}: seccompProfile.type must be RuntimeDefault or Localhost`);
    const drop: string[] = ctx.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) out.push(`${where}: capabilities.drop must include ALL`);
    for (const cap of ctx.capabilities?.add ?? [])
      if (cap !== "NET_BIND_SERVICE") out.push(`${where}: capability ${cap} must not be added`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${where}: hostPort ${p.hostPort} is not allowed`);
    if (ctx.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem must be true`);
  }
  return out;
}
