import type { AccessQuestion } from "../../kube/types.js";
import { resourceOfKind } from "../../facts/resources.js";

// The access reviews a preflight asks: one question per verb on a kind's resource.

function resourceOf(kind: string): { group: string; resource: string } {
  const r = resourceOfKind(kind);
  // A kind the table does not know is a bug in this installer, not the user's problem to fix.
  if (!r) throw new Error(`no API resource known for kind ${kind}: add it to src/facts/resources.ts`);
  return { group: r.group, resource: r.plural };
}

/** May these credentials `verb` the kind (in `namespace`; cluster-wide when undefined)? */
export function ask(kind: string, verb: string, namespace: string | undefined, subresource?: string): AccessQuestion {
  const { group, resource } = resourceOf(kind);
  return { verb, resource, group, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}) };
}

/** Each question once. */
export function dedupe(qs: readonly AccessQuestion[]): AccessQuestion[] {
  const seen = new Map(qs.map((q) => [JSON.stringify([q.verb, q.group, q.resource, q.subresource, q.namespace]), q]));
  return [...seen.values()];
}
