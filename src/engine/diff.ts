/**
 * The fields that differ between a live object and what an apply would make of it, as dotted
 * paths (`spec.template.spec.containers[0].image`). Server-owned bookkeeping is ignored. Values
 * are never returned, so a changed Secret shows which keys changed and nothing else.
 */
const IGNORED_METADATA = new Set([
  "managedFields",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "uid",
  "selfLink",
]);
const MAX_DEPTH = 6;

export function changedFields(live: unknown, desired: unknown): string[] {
  const out: string[] = [];
  walk(live, desired, "", 0, out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, depth: number, out: string[]): void {
  if (path === "status") return;
  if (equal(a, b)) return;
  const bothObjects = isObject(a) && isObject(b);
  const bothArrays = Array.isArray(a) && Array.isArray(b);
  if (depth >= MAX_DEPTH || (!bothObjects && !bothArrays)) {
    out.push(path || "(object)");
    return;
  }
  if (bothArrays) {
    const len = Math.max(a.length, b.length);
    for (let i = 0; i < len; i++) walk(a[i], b[i], `${path}[${i}]`, depth + 1, out);
    return;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
    if (path === "metadata" && IGNORED_METADATA.has(key)) continue;
    walk(ao[key], bo[key], path ? `${path}.${key}` : key, depth + 1, out);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ak = Object.keys(a as object);
  const bk = Object.keys(b as object);
  return (
    ak.length === bk.length &&
    ak.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
