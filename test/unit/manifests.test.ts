// Pins every number and name the Mathison specs (seeds 000 and 001) put into a manifest.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allObjects, findObject, render } from "../helpers/plan.js";

const plan = render();
const container = (kind: string, name: string) => findObject(plan, kind, name).spec.template.spec.containers[0];
const envNames = (c: { env: { name: string }[] }) => c.env.map((e) => e.name).sort();

describe("web Deployment (seed 000)", () => {
  const web = findObject(plan, "Deployment", "mathison-web");
  const c = container("Deployment", "mathison-web");
  it("runs 2 replicas of mathison-web:<tag> as ServiceAccount mathison on port 3000", () => {
    assert.equal(web.spec.replicas, 2);
    assert.equal(c.image, "mathison-web:latest");
    assert.equal(web.spec.template.spec.serviceAccountName, "mathison");
    assert.deepEqual(c.ports, [{ name: "http", containerPort: 3000 }]);
  });
  it("has the seed's probes", () => {
    assert.deepEqual(c.startupProbe, {
      httpGet: { path: "/api/health", port: "http" },
      initialDelaySeconds: 5,
      periodSeconds: 5,
      failureThreshold: 12,
    });
    assert.deepEqual(c.livenessProbe, {
      httpGet: { path: "/api/health", port: "http" },
      periodSeconds: 15,
      failureThreshold: 3,
    });
    assert.deepEqual(c.readinessProbe, {
      httpGet: { path: "/api/health?ready=true", port: "http" },
      periodSeconds: 10,
      failureThreshold: 2,
    });
  });
  it("requests 200m/256Mi and is limited to 1 CPU/512Mi", () => {
    assert.deepEqual(c.resources, {
      requests: { cpu: "200m", memory: "256Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    });
  });
  it("gets every env var the seed lists, from the ConfigMap and the Secret", () => {
    const names = envNames(c);
    for (const n of [
      "DATABASE_URL",
      "REDIS_URL",
      "AUTH_SECRET",
      "AUTH_URL",
      "ANTHROPIC_API_KEY",
      "LLM_PROVIDER",
      "MATHISON_MODE",
      "MATHISON_BASE_DOMAIN",
      "NODE_ENV",
    ]) {
      assert.ok(names.includes(n), `web has ${n}`);
    }
    const secretKeys = c.env
      .filter((e: any) => e.valueFrom?.secretKeyRef)
      .map((e: any) => e.name)
      .sort();
    assert.deepEqual(secretKeys, ["ANTHROPIC_API_KEY", "AUTH_SECRET", "DATABASE_URL"]);
  });
  it("rolls out with explicit maxUnavailable/maxSurge", () => {
    assert.deepEqual(web.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });
  it("is served by a ClusterIP Service on 3000 selecting the web pods", () => {
    const svc = findObject(plan, "Service", "mathison-web");
    assert.equal(svc.spec.type, "ClusterIP");
    assert.equal(svc.spec.ports[0].port, 3000);
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(web.spec.template.metadata.labels[k], v);
  });
});

describe("worker Deployment (seed 000)", () => {
  const worker = findObject(plan, "Deployment", "mathison-worker");
  const c = container("Deployment", "mathison-worker");
  it("runs 1 replica of mathison-worker:<tag> as ServiceAccount mathison", () => {
    assert.equal(worker.spec.replicas, 1);
    assert.equal(c.image, "mathison-worker:latest");
    assert.equal(worker.spec.template.spec.serviceAccountName, "mathison");
  });
  it("probes :8080/health every 15 s (liveness) and 10 s (readiness)", () => {
    assert.deepEqual(c.livenessProbe, { httpGet: { path: "/health", port: 8080 }, periodSeconds: 15 });
    assert.deepEqual(c.readinessProbe, { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 });
  });
  it("requests 100m/256Mi and is limited to 500m/512Mi", () => {
    assert.deepEqual(c.resources, {
      requests: { cpu: "100m", memory: "256Mi" },
      limits: { cpu: "500m", memory: "512Mi" },
    });
  });
  it("has the web's environment minus AUTH_URL and the web server's own HOSTNAME/PORT", () => {
    const web = envNames(container("Deployment", "mathison-web")).filter(
      (n) => !["AUTH_URL", "HOSTNAME", "PORT"].includes(n),
    );
    assert.deepEqual(envNames(c), web);
  });
  it("rolls out with explicit maxUnavailable/maxSurge", () => {
    assert.deepEqual(worker.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
  });
});

describe("migration Job (seed 000)", () => {
  const job = findObject(plan, "Job", /^mathison-migrate-/);
  const c = job.spec.template.spec.containers[0];
  it("runs prisma migrate deploy then db seed with the web image", () => {
    assert.equal(c.image, "mathison-web:latest");
    assert.match(c.command.join(" "), /npx prisma migrate deploy && npx prisma db seed/);
  });
  it("has restartPolicy OnFailure and backoffLimit 3", () => {
    assert.equal(job.spec.template.spec.restartPolicy, "OnFailure");
    assert.equal(job.spec.backoffLimit, 3);
    assert.ok(job.spec.ttlSecondsAfterFinished > 0);
  });
  it("reads DATABASE_URL from the Secret", () => {
    const db = c.env.find((e: any) => e.name === "DATABASE_URL");
    assert.deepEqual(db.valueFrom.secretKeyRef, { name: "mathison-secrets", key: "DATABASE_URL" });
  });
});

describe("Ingress (seed 000)", () => {
  const ing = findObject(plan, "Ingress", "mathison-web");
  const a = ing.metadata.annotations!;
  it("allows 50m bodies, streams SSE unbuffered with timeouts of at least 300 s", () => {
    assert.equal(a["nginx.ingress.kubernetes.io/proxy-body-size"], "50m");
    assert.equal(a["nginx.ingress.kubernetes.io/proxy-buffering"], "off");
    assert.ok(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 300);
    assert.ok(Number(a["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 300);
  });
  it("routes / (Prefix) to mathison-web:3000 with a TLS block for the host", () => {
    const rule = ing.spec.rules[0];
    assert.equal(ing.spec.ingressClassName, "nginx");
    assert.deepEqual(rule.http.paths[0], {
      path: "/",
      pathType: "Prefix",
      backend: { service: { name: "mathison-web", port: { number: 3000 } } },
    });
    assert.deepEqual(ing.spec.tls, [{ hosts: [rule.host], secretName: "mathison-tls" }]);
  });
});

describe("RBAC (seed 001)", () => {
  const role = findObject(plan, "ClusterRole", "mathison");
  it("grants exactly the rows of the permission table", () => {
    const table: Record<string, string[]> = {
      namespaces: ["create", "get", "list", "delete"],
      deployments: ["get", "list", "create", "patch", "delete"],
      statefulsets: ["get", "list", "create", "patch", "delete"],
      daemonsets: ["get", "list", "create", "patch", "delete"],
      services: ["get", "list", "create", "patch", "delete"],
      secrets: ["get", "list", "create", "patch", "delete"],
      configmaps: ["get", "list", "create", "patch", "delete"],
      persistentvolumeclaims: ["get", "list", "create", "delete"],
      ingresses: ["get", "list", "create", "patch", "delete"],
      networkpolicies: ["get", "list", "create", "patch", "delete"],
      resourcequotas: ["get", "list", "create", "patch", "delete"],
      pods: ["get", "list", "watch"],
      "pods/log": ["get"],
      "pods/exec": ["create"],
      nodes: ["get", "list"],
    };
    const granted: Record<string, string[]> = {};
    for (const rule of role.rules)
      for (const r of rule.resources) granted[r] = [...(granted[r] ?? []), ...rule.verbs].sort();
    assert.deepEqual(granted, Object.fromEntries(Object.entries(table).map(([k, v]) => [k, [...v].sort()])));
  });
  it("binds the role to ServiceAccount mathison in the namespace", () => {
    const binding = findObject(plan, "ClusterRoleBinding", "mathison");
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "mathison", namespace: "mathison-system" }]);
    assert.equal(binding.roleRef.name, "mathison");
    findObject(plan, "ServiceAccount", "mathison");
  });
});

describe("PostgreSQL and Redis (seed 001)", () => {
  it("PostgreSQL 16 + pgvector with the budget's resources, 10Gi, and an init script creating `vector`", () => {
    const pg = findObject(plan, "StatefulSet", "postgres");
    const c = pg.spec.template.spec.containers[0];
    assert.equal(c.image, "pgvector/pgvector:0.8.1-pg16");
    assert.deepEqual(c.resources, { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } });
    assert.equal(pg.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "10Gi");
    const init = findObject(plan, "ConfigMap", "postgres-init");
    assert.match(Object.values(init.data).join("\n") as string, /CREATE EXTENSION IF NOT EXISTS vector/);
    assert.ok(c.volumeMounts.some((m: any) => m.mountPath === "/docker-entrypoint-initdb.d"));
    assert.equal(findObject(plan, "Service", "postgres-headless").spec.clusterIP, "None");
    assert.equal(findObject(plan, "Service", "postgres").spec.ports[0].port, 5432);
    assert.equal(pg.spec.serviceName, "postgres-headless");
  });
  it("Redis 7 with appendonly yes, the budget's resources and 1Gi", () => {
    const redis = findObject(plan, "StatefulSet", "redis");
    const c = redis.spec.template.spec.containers[0];
    assert.equal(c.image, "redis:7.2.7");
    assert.match(c.args.join(" "), /--appendonly yes/);
    assert.deepEqual(c.resources, {
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { cpu: "250m", memory: "256Mi" },
    });
    assert.equal(redis.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "1Gi");
    assert.equal(findObject(plan, "Service", "redis").spec.ports[0].port, 6379);
  });
  it("the ConfigMap carries the service DNS names of seed 001", () => {
    const cm = findObject(plan, "ConfigMap", "mathison-config");
    assert.equal(cm.data.REDIS_URL, "redis://redis.mathison-system.svc.cluster.local:6379");
    assert.equal(cm.data.POSTGRES_HOST, "postgres.mathison-system.svc.cluster.local");
    assert.equal(cm.data.POSTGRES_PORT, "5432");
    assert.equal(cm.data.NODE_ENV, "production");
  });
});

describe("production practice", () => {
  it("labels every object app.kubernetes.io/{name,part-of,managed-by=mathison}", () => {
    for (const o of allObjects(plan)) {
      const l = o.metadata.labels ?? {};
      assert.ok(l["app.kubernetes.io/name"], `${o.kind}/${o.metadata.name} has a name label`);
      assert.equal(l["app.kubernetes.io/part-of"], "mathison", `${o.kind}/${o.metadata.name}`);
      assert.equal(l["app.kubernetes.io/managed-by"], "mathison", `${o.kind}/${o.metadata.name}`);
    }
  });
  it("labels workloads and their pods with component and version", () => {
    for (const o of allObjects(plan).filter((o) => o.spec?.template)) {
      for (const labels of [o.metadata.labels!, o.spec.template.metadata.labels]) {
        assert.ok(labels["app.kubernetes.io/component"], `${o.kind}/${o.metadata.name} component`);
        assert.ok(labels["app.kubernetes.io/version"], `${o.kind}/${o.metadata.name} version`);
      }
    }
  });
  it("denies ingress by default and allows only the paths the stack uses", () => {
    const deny = findObject(plan, "NetworkPolicy", "default-deny-ingress");
    assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress"] });
    const toWeb = findObject(plan, "NetworkPolicy", "allow-ingress-controller-to-web");
    assert.equal(toWeb.spec.ingress[0].ports[0].port, 3000);
    assert.equal(
      toWeb.spec.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
      "ingress-nginx",
    );
    for (const [name, port] of [
      ["allow-app-to-postgres", 5432],
      ["allow-app-to-redis", 6379],
    ] as const) {
      const np = findObject(plan, "NetworkPolicy", name);
      assert.equal(np.spec.ingress[0].ports[0].port, port);
      assert.deepEqual(np.spec.ingress[0].from[0].podSelector.matchExpressions[0].values, [
        "web",
        "worker",
        "migration",
      ]);
    }
  });
  it("has a PodDisruptionBudget for web", () => {
    const pdb = findObject(plan, "PodDisruptionBudget", "mathison-web");
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(
      pdb.spec.selector.matchLabels,
      findObject(plan, "Deployment", "mathison-web").spec.selector.matchLabels,
    );
  });
  it("the namespace enforces Pod Security restricted", () => {
    assert.equal(
      findObject(plan, "Namespace", "mathison-system").metadata.labels!["pod-security.kubernetes.io/enforce"],
      "restricted",
    );
  });
});
