import { stringify } from "yaml";
import type { RenderedPlan, Stage } from "./render.js";
import { CONFIG_DIGEST_ANNOTATION } from "../facts/names.js";
import type { KubeObject } from "../facts/objects.js";

export const REDACTED = "<redacted>";

export interface OutputOptions {
  readonly showSecrets: boolean;
}

/** Secret values (and the digest computed from them) replaced by `<redacted>`; everything else as it will be applied. */
export function redact(obj: KubeObject): KubeObject {
  const digested = obj.spec?.template?.metadata?.annotations?.[CONFIG_DIGEST_ANNOTATION] !== undefined;
  if (obj.kind !== "Secret" && !digested) return obj;
  const copy = structuredClone(obj);
  if (digested) copy.spec.template.metadata.annotations[CONFIG_DIGEST_ANNOTATION] = REDACTED;
  for (const field of ["data", "stringData"] as const) {
    if (copy[field]) copy[field] = Object.fromEntries(Object.keys(copy[field]).map((k) => [k, REDACTED]));
  }
  return copy;
}

/**
 * YAML 1.1 output: kubectl and most Kubernetes tooling read YAML 1.1, where unquoted `off`, `yes`
 * or `on` are booleans; the 1.1 schema quotes them so annotation values stay strings.
 */
export function toYaml(obj: unknown): string {
  return stringify(obj, { version: "1.1", lineWidth: 0 });
}

export function stageYaml(stage: Stage, total: number, options: OutputOptions): string {
  const header = `# Stage ${stage.index + 1}/${total}: ${stage.title}\n`;
  const docs = stage.objects.map((o) => toYaml(options.showSecrets ? o : redact(o)));
  return header + docs.join("---\n");
}

/** Multi-document YAML of the whole plan, in apply order. */
export function planYaml(plan: RenderedPlan, options: OutputOptions): string {
  return plan.stages.map((s) => stageYaml(s, plan.stages.length, options)).join("---\n");
}

/** `01-base`, `04-migrate`: a stage's name in files and directories, numbered in apply order. */
export function stageDir(stage: Pick<Stage, "index" | "id">): string {
  return `${String(stage.index + 1).padStart(2, "0")}-${stage.id}`;
}

export function stageFileName(stage: Stage): string {
  return `${stageDir(stage)}.yaml`;
}
