// A big cluster on the test cluster: KWOK nodes and pods of someone else's in a namespace of their
// own, so the benchmark can show the installer's cost does not grow with the cluster.
import { connect } from "../src/kube/client.js";
import type { Kube } from "../src/kube/types.js";
import type { KubeObject } from "../src/facts/objects.js";

export const LOAD_NAMESPACE = "bench-load";

/** What one loaded pod looks like to a list: about 4 KB of JSON, as pods with env, volumes and managed fields are. */
function pod(i: number, node: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `load-${i}`,
      namespace: LOAD_NAMESPACE,
      labels: { app: "someone-else", shard: String(i % 50) },
      annotations: { "bench.mathison.dev/padding": "x".repeat(3000) },
    },
    spec: {
      nodeName: node,
      tolerations: [{ operator: "Exists" }],
      containers: [{ name: "app", image: "someone-else:1", resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
    },
  };
}

function node(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake" },
      labels: { "kubernetes.io/hostname": name, "bench.mathison.dev/load": "true" },
    },
    spec: {},
    status: {
      allocatable: { cpu: "32", memory: "64Gi", pods: "110" },
      capacity: { cpu: "32", memory: "64Gi", pods: "110" },
    },
  };
}

/** Runs `work` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function createAll(kube: Kube, objects: readonly KubeObject[]): Promise<void> {
  await pool(objects, 16, (o) =>
    kube.create(o).catch((err: { status?: number }) => {
      if (err.status !== 409) throw err;
    }),
  );
}

/**
 * Adds `nodes` KWOK nodes and `pods` pods bound to them (no scheduler work), then waits until
 * the cluster is quiet again (KWOK has reported the pods running), so measurements after it are
 * of the installer, not of a cluster still busy with the load.
 */
export async function loadCluster(
  kubeconfig: string,
  nodes: number,
  pods: number,
  say: (line: string) => void,
): Promise<void> {
  const kube = connect({ kubeconfig });
  const started = Date.now();
  const names = Array.from({ length: nodes }, (_, i) => `bench-node-${i}`);
  await createAll(kube, names.map(node));
  await createAll(kube, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: LOAD_NAMESPACE } }]);
  say(`load: ${nodes} nodes in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await createAll(
    kube,
    Array.from({ length: pods }, (_, i) => pod(i, names[i % nodes]!)),
  );
  say(`load: ${pods} pods created in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (let last = -1; ; ) {
    const running = (await kube.list("v1", "Pod", LOAD_NAMESPACE, { fieldSelector: "status.phase=Running" })).items
      .length;
    if (running >= pods || running === last || Date.now() - started > 600_000) {
      say(`load: ${running} of ${pods} pods running after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      return;
    }
    last = running;
    await new Promise((r) => setTimeout(r, 10_000));
  }
}
