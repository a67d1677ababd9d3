import { type KubeObject, typed } from "../../facts/objects.js";
import { parseQuantity } from "../../facts/quantity.js";

// Where the plan's pods would go: their requests, each node's room, taints and selectors, and a
// placement of all of them as the scheduler would try it. Pure: the capacity check feeds it.

export interface Resources {
  readonly cpu: number;
  readonly memory: number;
}

/** One pod the plan will run: what it requests and where it may go. */
export interface PlannedPod {
  readonly owner: string;
  readonly requests: Resources;
  readonly limits: Resources;
  readonly tolerations: readonly { key?: string; operator?: string; value?: string; effect?: string }[];
  readonly nodeSelector: Readonly<Record<string, string>>;
}

/** The containers' requests (or limits) added up: cores and bytes. */
export function sum(
  containers: readonly { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[],
  kind: "requests" | "limits",
): Resources {
  return containers.reduce(
    (acc, c) => ({
      cpu: acc.cpu + (parseQuantity(c.resources?.[kind]?.cpu) ?? 0),
      memory: acc.memory + (parseQuantity(c.resources?.[kind]?.memory) ?? 0),
    }),
    { cpu: 0, memory: 0 },
  );
}

/** The pods of every workload in the plan: replicas of Deployments and StatefulSets, one per Job. */
export function plannedPods(objects: readonly KubeObject[]): PlannedPod[] {
  return objects
    .filter((o) => o.spec?.template?.spec)
    .flatMap((o) => {
      const spec = o.spec.template.spec;
      const replicas = o.kind === "Job" ? 1 : (typed(o, "Deployment").spec?.replicas ?? 1);
      const pod: PlannedPod = {
        owner: `${o.kind}/${o.metadata.name}`,
        requests: sum(spec.containers ?? [], "requests"),
        limits: sum(spec.containers ?? [], "limits"),
        tolerations: spec.tolerations ?? [],
        nodeSelector: spec.nodeSelector ?? {},
      };
      return Array.from({ length: replicas }, () => pod);
    });
}

export interface NodeRoom {
  readonly name: string;
  readonly free: Resources;
  /** How many more pods the node takes (its allocatable `pods`, the kubelet's maximum, less those it runs). */
  readonly pods?: { readonly free: number; readonly max: number };
  /** Why no pod of the plan may go there (cordoned, not Ready, an untolerated taint); checked per pod for taints. */
  readonly blocked?: string;
  readonly taints: readonly { key: string; value?: string; effect: string }[];
  readonly labels: Readonly<Record<string, string>>;
}

function tolerates(pod: PlannedPod, taint: { key: string; value?: string; effect: string }): boolean {
  return pod.tolerations.some(
    (t) =>
      (t.key === undefined || t.key === taint.key || (t.operator === "Exists" && !t.key)) &&
      (t.operator === "Exists" || t.value === taint.value) &&
      (!t.effect || t.effect === taint.effect),
  );
}

/** Why this pod cannot go to this node, or undefined if it fits. */
export function misfit(pod: PlannedPod, node: NodeRoom): string | undefined {
  if (node.blocked) return `${node.name} is ${node.blocked}`;
  const taint = node.taints.find((t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerates(pod, t));
  if (taint)
    return `${node.name} has the taint ${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}, which the pod does not tolerate`;
  const label = Object.entries(pod.nodeSelector).find(([k, v]) => node.labels[k] !== v);
  if (label) return `${node.name} lacks the label ${label[0]}=${label[1]} the pod selects`;
  if (node.pods && node.pods.free < 1)
    return `${node.name} has no room for another pod (${node.pods.max - node.pods.free} of its ${node.pods.max} taken)`;
  if (node.free.cpu < pod.requests.cpu)
    return `${node.name} has ${formatCpu(node.free.cpu)} CPU free, the pod requests ${formatCpu(pod.requests.cpu)}`;
  if (node.free.memory < pod.requests.memory)
    return `${node.name} has ${formatMemory(node.free.memory)} memory free, the pod requests ${formatMemory(pod.requests.memory)}`;
  return undefined;
}

export const formatCpu = (n: number): string => (n < 1 ? `${Math.round(n * 1000)}m` : `${+n.toFixed(2)}`);

export const formatMemory = (n: number): string => `${Math.round(n / 2 ** 20)}Mi`;

/** Places the pods largest first on the first node with room, as a scheduler would at best: the first pod that finds none is the answer. */
export function placeAll(
  pods: readonly PlannedPod[],
  nodes: readonly NodeRoom[],
): { pod: PlannedPod; reasons: string[] } | undefined {
  const left = new Map(nodes.map((n) => [n.name, { free: { ...n.free }, pods: n.pods && { ...n.pods } }]));
  const order = [...pods].sort((a, b) => b.requests.memory - a.requests.memory || b.requests.cpu - a.requests.cpu);
  for (const pod of order) {
    const reasons = nodes.map((n) => misfit(pod, { ...n, ...left.get(n.name)! }));
    const i = reasons.indexOf(undefined);
    if (i < 0) return { pod, reasons: reasons as string[] };
    const room = left.get(nodes[i]!.name)!;
    room.free.cpu -= pod.requests.cpu;
    room.free.memory -= pod.requests.memory;
    if (room.pods) room.pods.free -= 1;
  }
  return undefined;
}
