/**
 * Kubernetes resource quantities (`200m`, `256Mi`, `1.5`, `2e3`): the one grammar the installer
 * reads them with, from the cluster (capacity, quotas) and from the user (sizes, requests).
 */
const SUFFIX: Readonly<Record<string, number>> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity (`200m`, `256Mi`, `1.5`, `2e3`) as a number of base units; undefined if malformed. */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === "number") return q;
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  return m ? Number(m[1]) * (m[2] ? SUFFIX[m[2]]! : 1) : undefined;
}

/**
 * A quantity a user gives: the grammar above without a sign or an exponent (what kubectl's users
 * write), and for a storage size, greater than zero and without `m`.
 */
export function givenQuantity(v: string, kind: "storage" | "compute"): number | undefined {
  if (v.trim() !== v || !/^[0-9]/.test(v) || /[eE][+-]?[0-9]/.test(v)) return undefined;
  const n = parseQuantity(v);
  if (n === undefined) return undefined;
  if (kind === "storage") return n > 0 && !v.endsWith("m") ? n : undefined;
  return n;
}
