import { stringify } from "yaml";
import type { KubeObject } from "./objects.js";
import type { RenderedPlan, Stage } from "./render.js";

export const REDACTED = "<redacted>";

export interface OutputOptions {
  readonly showSecrets: boolean;
}

/** Secret values replaced by `<redacted>`; everything else as it will be applied. */
export function redact(obj: KubeObject): KubeObject {
  if (obj.kind !== "Secret") return obj;
  const copy = structuredClone(obj);
  for (const field of ["data", "stringData"] as const) {
    if (copy[field]) copy[field] = Object.fromEntries(Object.keys(copy[field]).map((k) => [k, REDACTED]));
  }
  return copy;
}

export function stageYaml(stage: Stage, total: number, options: OutputOptions): string {
  const header = `# Stage ${stage.index + 1}/${total}: ${stage.title}\n`;
  const docs = stage.objects.map((o) => stringify(options.showSecrets ? o : redact(o), { lineWidth: 0 }));
  return header + docs.join("---\n");
}

/** Multi-document YAML of the whole plan, in apply order. */
export function planYaml(plan: RenderedPlan, options: OutputOptions): string {
  return plan.stages.map((s) => stageYaml(s, plan.stages.length, options)).join("---\n");
}

export function stageFileName(stage: Stage): string {
  return `${String(stage.index + 1).padStart(2, "0")}-${stage.id}.yaml`;
}
