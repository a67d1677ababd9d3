import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config/resolve.js";
import type { RawSource } from "../../src/config/sources.js";
import type { InstallConfig } from "../../src/config/types.js";
import { renderPlan, type RenderedPlan } from "../../src/render/render.js";
import type { KubeObject } from "../../src/facts/objects.js";

/** A config from flag-like values (keys as in the values file), everything else defaulted. */
export function configFrom(values: Record<string, string> = {}): InstallConfig {
  const source: RawSource = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, field: k }]));
  const r = resolveConfig([source]);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

export function allObjects(plan: RenderedPlan): KubeObject[] {
  return plan.stages.flatMap((s) => [...s.objects]);
}

export function findObject(plan: RenderedPlan, kind: string, name: string | RegExp): KubeObject {
  const found = allObjects(plan).find(
    (o) => o.kind === kind && (typeof name === "string" ? o.metadata.name === name : name.test(o.metadata.name)),
  );
  assert.ok(found, `${kind}/${name} is in the plan`);
  return found;
}

export function render(values: Record<string, string> = {}): RenderedPlan {
  return renderPlan(configFrom(values));
}

/** An owner reference by uid (the kind and name do not matter to the code that follows owners). */
export function owner(uid: string): { apiVersion: string; kind: string; name: string; uid: string } {
  return { apiVersion: "apps/v1", kind: "ReplicaSet", name: uid, uid };
}
