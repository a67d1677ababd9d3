import { ask } from "./access.js";
import type { CheckResult } from "../types.js";
import type { PreflightCheck, PreflightContext } from "./context.js";
import { type KubeObject, typed } from "../../facts/objects.js";
import { parseQuantity } from "../../facts/quantity.js";
import {
  formatCpu,
  formatMemory,
  misfit,
  type NodeRoom,
  placeAll,
  plannedPods,
  type PlannedPod,
  sum,
} from "./placement.js";

function isReady(node: KubeObject): boolean {
  return typed(node, "Node").status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Of a pod, what its node's room needs: its namespace and its containers' requests. */
function requestsOnly(p: KubeObject): KubeObject {
  const containers = (typed(p, "Pod").spec?.containers ?? []).map((c) => ({
    resources: { requests: c.resources?.requests ?? {} },
  }));
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: { name: p.metadata.name, namespace: p.metadata.namespace ?? "" },
    spec: { containers },
  };
}

/** Of a node, what its room needs: name, labels, taints, whether it is cordoned or Ready, and its allocatable resources. */
function roomFields(n: KubeObject): KubeObject {
  const ready = typed(n, "Node").status?.conditions?.filter((c) => c.type === "Ready") ?? [];
  return {
    apiVersion: n.apiVersion,
    kind: n.kind,
    metadata: { name: n.metadata.name, labels: n.metadata.labels ?? {} },
    spec: { unschedulable: n.spec?.unschedulable, taints: n.spec?.taints ?? [] },
    status: { allocatable: n.status?.allocatable ?? {}, conditions: ready },
  };
}

/** A node before its pods are counted: all of its allocatable room is free. */
function emptyRoom(n: KubeObject): NodeRoom {
  const blocked = n.spec?.unschedulable ? "cordoned" : !isReady(n) ? "not Ready" : undefined;
  const maxPods = parseQuantity(n.status?.allocatable?.pods);
  return {
    name: n.metadata.name,
    free: {
      cpu: parseQuantity(n.status?.allocatable?.cpu) ?? 0,
      memory: parseQuantity(n.status?.allocatable?.memory) ?? 0,
    },
    ...(maxPods !== undefined ? { pods: { free: maxPods, max: maxPods } } : {}),
    ...(blocked ? { blocked } : {}),
    taints: n.spec?.taints ?? [],
    labels: n.metadata.labels ?? {},
  };
}

/**
 * The node's room after the requests of the pods already on it (the install's own pods are
 * replaced by the planned ones, so they do not count). One node's pods, selected by the API
 * server: the cost follows the nodes examined, not the cluster's size.
 */
async function roomOn(ctx: PreflightContext, node: NodeRoom): Promise<NodeRoom> {
  const { items } = await ctx.kube.list("v1", "Pod", undefined, {
    fieldSelector: `spec.nodeName=${node.name},status.phase!=Succeeded,status.phase!=Failed`,
    project: requestsOnly,
  });
  let { cpu, memory } = node.free;
  let running = 0;
  for (const p of items) {
    if (p.metadata.namespace === ctx.config.namespace) continue;
    const r = sum(p.spec?.containers ?? [], "requests");
    cpu -= r.cpu;
    memory -= r.memory;
    running += 1;
  }
  const pods = node.pods && { free: node.pods.max - running, max: node.pods.max };
  return { ...node, free: { cpu, memory }, ...(pods ? { pods } : {}) };
}

/**
 * Nodes examined at once after the first: the roomiest node is examined alone, since on most
 * clusters it takes the whole plan (a busy node's pods are hundreds of KB of JSON, read for
 * nothing if it was not needed); then a few at a time.
 */
const NODE_BATCH = 4;

/**
 * Examines a page's nodes that could take a planned pod, largest first, a batch at a time, and
 * stops as soon as the whole plan fits on those examined (with the earlier pages' rooms).
 */
async function examineNodes(
  ctx: PreflightContext,
  pods: readonly PlannedPod[],
  nodes: readonly NodeRoom[],
  examinedBefore: readonly NodeRoom[] = [],
): Promise<{ rooms: NodeRoom[]; fits: boolean }> {
  const unbounded = { cpu: Number.POSITIVE_INFINITY, memory: Number.POSITIVE_INFINITY };
  const candidates = nodes
    .filter((n) => pods.some((pod) => misfit(pod, { ...n, free: unbounded }) === undefined))
    .sort((a, b) => b.free.memory - a.free.memory || b.free.cpu - a.free.cpu);
  const rooms: NodeRoom[] = [];
  for (let i = 0; i < candidates.length; i += i === 0 ? 1 : NODE_BATCH) {
    const batch = candidates.slice(i, i === 0 ? 1 : i + NODE_BATCH);
    rooms.push(...(await Promise.all(batch.map((n) => roomOn(ctx, n)))));
    if (placeAll(pods, [...examinedBefore, ...rooms]) === undefined) return { rooms, fits: true };
  }
  return {
    rooms,
    fits: candidates.length === 0 && examinedBefore.length > 0 && placeAll(pods, examinedBefore) === undefined,
  };
}

/** Nodes read at a time: on a big cluster the first page usually holds room for the whole plan. */
const NODE_PAGE = 50;

/**
 * The nodes a page at a time, of each only what its room needs (a big cluster's node list is
 * megabytes), each page's examined as it arrives; the reading stops once the plan fits on the
 * nodes examined. A plan that fits nowhere reads them all.
 */
async function readNodesUntilFit(
  ctx: PreflightContext,
  pods: readonly PlannedPod[],
): Promise<{ nodes: NodeRoom[]; rooms: NodeRoom[]; fits: boolean; unread: number }> {
  const nodes: NodeRoom[] = [];
  const rooms: NodeRoom[] = [];
  let fits = false;
  let unread = 0;
  await ctx.kube.list("v1", "Node", undefined, {
    project: roomFields,
    pageSize: NODE_PAGE,
    until: async (page, remaining) => {
      const fresh = page.map(emptyRoom);
      nodes.push(...fresh);
      const examined = await examineNodes(ctx, pods, fresh, rooms);
      rooms.push(...examined.rooms);
      fits = examined.fits;
      unread = remaining ?? 0;
      return fits;
    },
  });
  return { nodes, rooms, fits, unread: fits ? unread : 0 };
}

/** At most a few reasons, then how many more: a cluster of hundreds of nodes still gives one readable line. */
function someReasons(reasons: readonly string[]): string {
  const shown = reasons.slice(0, 5).join("; ");
  return reasons.length > 5 ? `${shown}; and ${reasons.length - 5} more nodes` : shown;
}

/** Every planned pod fits on a schedulable node (taints and selectors considered), and all of them together fit the cluster. */
/** Whether the resource metrics an autoscaler reads are missing; a cluster that does not let us look is not said to lack them. */
async function metricsMissing(ctx: PreflightContext): Promise<boolean> {
  const service = await ctx.kube
    .get({ apiVersion: "apiregistration.k8s.io/v1", kind: "APIService", name: "v1beta1.metrics.k8s.io" })
    .catch(() => null);
  if (service === null) return false;
  const available = (service?.status?.conditions as { type: string; status: string }[] | undefined)?.find(
    (c) => c.type === "Available",
  );
  return available?.status !== "True";
}

/** A small cluster's way out: the profile that fits a node with 1 CPU and 1.5 GiB free. */
function smallHint(ctx: PreflightContext): string {
  return ctx.config.profile === "small"
    ? ""
    : "; on a small cluster: --profile small (fits a node with 1 CPU and 1.5 GiB free)";
}

export const capacityCheck: PreflightCheck = {
  id: "capacity",
  group: "Capacity",
  title: "Node capacity",
  needs: ["cluster"],
  // Every node and its pods (cluster-wide), and whether metrics-server answers.
  reads: () => [ask("Node", "list", undefined), ask("Pod", "list", undefined), ask("APIService", "get", undefined)],
  async run(ctx): Promise<CheckResult> {
    const pods = plannedPods(ctx.rendered.stages.flatMap((s) => s.objects));
    const total = pods.reduce((a, p) => ({ cpu: a.cpu + p.requests.cpu, memory: a.memory + p.requests.memory }), {
      cpu: 0,
      memory: 0,
    });
    const requested = `${formatCpu(total.cpu)} CPU, ${formatMemory(total.memory)} memory requested`;
    const { nodes, rooms, fits, unread } = await readNodesUntilFit(ctx, pods);
    if (nodes.length === 0) return { status: "fail", message: "the cluster has no nodes", hint: "kubectl get nodes" };
    const schedulable = nodes.filter((n) => !n.blocked).length;
    if (fits) {
      const examined = rooms.length < schedulable ? ` (room counted on ${rooms.length} of them)` : "";
      const where =
        unread > 0
          ? `the first ${nodes.length} of the cluster's ${nodes.length + unread} nodes (the rest not read)`
          : `${schedulable} schedulable ${schedulable === 1 ? "node" : "nodes"}`;
      const message = `${pods.length} pods (${requested}) fit on ${where}${examined}`;
      if (ctx.config.webAutoscale && (await metricsMissing(ctx))) {
        return {
          status: "warn",
          message: `${message}; but the cluster serves no resource metrics (APIService v1beta1.metrics.k8s.io): --web-autoscale keeps web at its minimum`,
          hint: "install metrics-server: kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml",
        };
      }
      return { status: "pass", message };
    }
    // Every node that could take a pod was examined; the others keep their reason (taint, cordon, selector).
    const all = nodes.map((n) => rooms.find((r) => r.name === n.name) ?? n);
    const alone = pods
      .map((pod) => ({ pod, reasons: all.map((n) => misfit(pod, n)) }))
      .find((p) => p.reasons.every((r) => r !== undefined));
    if (alone) {
      return {
        status: "fail",
        message: `no node can run ${alone.pod.owner}'s pod: ${someReasons(alone.reasons as string[])}`,
        hint: `free or add capacity, remove the taint (kubectl taint nodes NAME KEY-), or uncordon a node${smallHint(ctx)}`,
      };
    }
    const stuck = placeAll(pods, all)!;
    return {
      status: "fail",
      message: `the ${pods.length} planned pods (${requested}) do not all fit: ${stuck.pod.owner}'s pod finds no room (${someReasons(stuck.reasons)})`,
      hint: `add nodes or lower --web-replicas${smallHint(ctx)}`,
    };
  },
};
