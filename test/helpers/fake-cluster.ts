import { PassThrough } from "node:stream";
import type { KubeObject } from "../../src/facts/objects.js";
import type { CliIO } from "../../src/base/io.js";
import type { PipelineOptions } from "../../src/pipeline/install.js";
import { FakeKube, healthyCluster } from "./fake-kube.js";

/** A Ready, schedulable node with this much room (by default the healthy cluster's node-0: 8 CPUs, 16Gi, 110 pods). */
export function readyNode(
  name = "node-0",
  allocatable: Partial<Record<"cpu" | "memory" | "pods", string>> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: {},
    status: {
      allocatable: { cpu: "8", memory: "16Gi", pods: "110", ...allocatable },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

/** What a healthy cluster offers an install: a node with room, a default StorageClass, a served IngressClass. */
export function healthyObjects(): KubeObject[] {
  return [
    readyNode(),
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "kubernetes.io/host-path",
      volumeBindingMode: "Immediate",
    } as KubeObject,
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "nginx", annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } },
      spec: { controller: "k8s.io/ingress-nginx" },
    },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "ingress-nginx" }, spec: {} },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "ingress-nginx-controller-0",
        namespace: "ingress-nginx",
        labels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
      },
      spec: { nodeName: "node-0", containers: [{ name: "controller", image: "ingress-nginx" }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    },
  ];
}

/** An in-memory cluster whose controllers roll everything out at once. */
export function healthyFake(extra: readonly KubeObject[] = []): FakeKube {
  const fake = new FakeKube([...healthyObjects(), ...extra]);
  fake.controllers.push(healthyCluster);
  return fake;
}

/** The install pipeline's options for a run against an in-memory cluster: no waiting for a lock, a short lease, no verification. */
export function pipelineOptions(
  fake: FakeKube,
  namespace: string,
  extra: Partial<PipelineOptions> = {},
): PipelineOptions {
  return {
    cluster: {},
    open: () => fake,
    namespace,
    dryRun: false,
    pull: false,
    engine: {},
    skipPreflight: false,
    forceNamespace: false,
    lockTimeoutMs: 0,
    skipVerify: true,
    network: { resolve: new Map() },
    leaseSeconds: 1,
    ...extra,
  };
}

/** A command's streams, kept: JSON Lines events from stdout, stderr as text. */
export function capturedIO(env: Record<string, string> = {}): CliIO & { events: () => any[]; errors: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  return {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env,
    events: () =>
      out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    errors: () => err,
  };
}
