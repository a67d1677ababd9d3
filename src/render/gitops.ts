import { REGISTRY_SECRET_NAME, SECRET_NAME } from "../facts/names.js";
import type { KubeObject } from "../facts/objects.js";
import { stageDir, toYaml } from "./output.js";
import { clusterScopedName } from "./customise.js";
import type { RenderedPlan, Stage } from "./render.js";

/**
 * `export --gitops`: the rendered install as a directory a GitOps controller applies in the
 * installer's order. Pure: the same plan and answers give the same files.
 */

export const GITOPS_FLAVORS = ["kustomize", "argocd", "flux"] as const;
export type GitopsFlavor = (typeof GITOPS_FLAVORS)[number];

/** Where the export lives in the team's repository, for the Argo CD Application or Flux's GitRepository. */
export interface RepoLocation {
  readonly url: string;
  /** The export's directory inside the repository (`.` at its root). */
  readonly path: string;
  readonly branch: string;
}

export interface GitopsInput {
  readonly rendered: RenderedPlan;
  readonly flavor: GitopsFlavor;
  /** Required for argocd and flux (their source objects point at it). */
  readonly repo: RepoLocation | undefined;
  /** The non-secret answers, written as `values.yaml` (what `export --values` takes again). */
  readonly answers: Readonly<Record<string, string>>;
  readonly installerVersion: string;
}

export interface ExportedFile {
  readonly path: string;
  readonly content: string;
}

/** The Secrets whose values never go into the export: `secrets apply` makes them in the cluster. */
export function isSecretKept(obj: KubeObject): boolean {
  return obj.kind === "Secret" && (obj.metadata.name === SECRET_NAME || obj.metadata.name === REGISTRY_SECRET_NAME);
}

/** Kinds that hold the data or everything else (the Namespace, the databases and their claims): a controller never prunes or deletes them. */
const KEPT_KINDS = ["Namespace", "StatefulSet", "PersistentVolumeClaim"] as const;

/** The kept kinds a stage holds: its objects are never pruned (decided by what it holds, not by its name). */
function keptKindsOf(stage: { readonly objects: readonly KubeObject[] }): string[] {
  return KEPT_KINDS.filter((k) => stage.objects.some((o) => o.kind === k));
}

const KUSTOMIZATION_HEADER = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
const ARGO_HOOK = "argocd.argoproj.io/hook";

export function gitopsFiles(input: GitopsInput): ExportedFile[] {
  const { rendered, installerVersion } = input;
  const header = `# Written by mathison-install ${installerVersion} export --gitops; change values.yaml and export again rather than editing.\n`;
  const files: ExportedFile[] = [
    { path: "values.yaml", content: header + toYaml({ namespace: rendered.namespace, ...input.answers }) },
    {
      path: "base/kustomization.yaml",
      content: header + KUSTOMIZATION_HEADER + toYaml({ resources: rendered.stages.map(stageDir) }),
    },
  ];
  for (const stage of rendered.stages) {
    const objects = stage.objects.filter((o) => !isSecretKept(o));
    files.push(
      {
        path: `base/${stageDir(stage)}/kustomization.yaml`,
        content: `${header}# Stage ${stage.index + 1}/${rendered.stages.length}: ${stage.title}\n${KUSTOMIZATION_HEADER}${toYaml({ resources: ["objects.yaml"] })}`,
      },
      { path: `base/${stageDir(stage)}/objects.yaml`, content: header + objects.map(toYaml).join("---\n") },
    );
  }
  files.push(...secretFiles(rendered, header));
  if (input.flavor === "argocd") files.push(...argoFiles(input, header));
  if (input.flavor === "flux") files.push(...fluxFiles(input, header));
  files.push({ path: "README.md", content: readme(input) });
  return files;
}

/** The Secret's shape without its values: an ExternalSecret to fill in, never applied by the export itself. */
function secretFiles(rendered: RenderedPlan, header: string): ExportedFile[] {
  const secret = rendered.stages
    .flatMap((s) => s.objects)
    .find((o) => o.kind === "Secret" && o.metadata.name === SECRET_NAME);
  const keys = Object.keys(secret?.data ?? {});
  const externalSecret = {
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: { name: SECRET_NAME, namespace: rendered.namespace },
    spec: {
      refreshInterval: "1h",
      secretStoreRef: { kind: "ClusterSecretStore", name: "CHANGE-ME" },
      target: { name: SECRET_NAME, creationPolicy: "Owner" },
      data: keys.map((k) => ({ secretKey: k, remoteRef: { key: `mathison/${rendered.namespace}`, property: k } })),
    },
  };
  return [
    {
      path: "secrets/external-secret.example.yaml",
      content: `${header}# An example only: not part of any kustomization. Every key must hold the value the install already has\n# (POSTGRES_PASSWORD above all: PostgreSQL keeps the one it started with).\n${toYaml(externalSecret)}`,
    },
  ];
}

function argoFiles(input: GitopsInput, header: string): ExportedFile[] {
  const { rendered, repo } = input;
  const files: ExportedFile[] = [
    {
      path: "argocd/kustomization.yaml",
      content: header + KUSTOMIZATION_HEADER + toYaml({ resources: rendered.stages.map(stageDir) }),
    },
  ];
  for (const stage of rendered.stages) {
    files.push({ path: `argocd/${stageDir(stage)}/kustomization.yaml`, content: header + argoStage(stage) });
  }
  files.push({
    path: "argocd-application.yaml",
    content: `${header}# Apply once: kubectl apply -f argocd-application.yaml (Argo CD's namespace: argocd).\n${toYaml(argoApplication(rendered.namespace, repo!))}`,
  });
  return files;
}

/**
 * One stage's overlay: its objects in the stage's sync wave (metadata only, never pod templates,
 * so nothing rolls because of it); the migration Job a Sync hook in its wave, re-created per
 * release; the Namespace and the databases never pruned or deleted by Argo CD.
 */
function argoStage(stage: Stage): string {
  const wave = {
    apiVersion: "builtin",
    kind: "AnnotationsTransformer",
    metadata: { name: "sync-wave" },
    annotations: { "argocd.argoproj.io/sync-wave": String(stage.index) },
    fieldSpecs: [{ path: "metadata/annotations", create: true }],
  };
  const patches: object[] = [];
  if (stage.id === "migrate")
    patches.push(
      annotationPatch(
        { kind: "Job" },
        { [ARGO_HOOK]: "Sync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation" },
      ),
    );
  const kept = { "argocd.argoproj.io/sync-options": "Prune=false,Delete=false" };
  for (const kind of keptKindsOf(stage)) patches.push(annotationPatch({ kind }, kept));
  return (
    KUSTOMIZATION_HEADER +
    toYaml({
      resources: [`../../base/${stageDir(stage)}`],
      transformers: [toYaml(wave)],
      ...(patches.length > 0 ? { patches } : {}),
    })
  );
}

function annotationPatch(target: { kind: string }, annotations: Record<string, string>): object {
  return {
    target,
    patch: toYaml(smp(target.kind, annotations)),
  };
}

/** A strategic-merge patch of annotations; with a target, kustomize applies it to every object matched. */
function smp(kind: string, annotations: Record<string, string>): object {
  return {
    apiVersion: kind === "Namespace" ? "v1" : kind === "Job" ? "batch/v1" : "apps/v1",
    kind,
    metadata: { name: "any", annotations },
  };
}

export function argoApplication(namespace: string, repo: RepoLocation): KubeObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    // No resources finalizer: deleting the Application leaves Mathison (and its data) running.
    metadata: { name: clusterScopedName(namespace), namespace: "argocd" },
    spec: {
      project: "default",
      source: { repoURL: repo.url, targetRevision: repo.branch, path: joinPath(repo.path, "argocd") },
      destination: { server: "https://kubernetes.default.svc", namespace },
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        syncOptions: ["ServerSideApply=true", "PruneLast=true"],
      },
    },
  };
}

function fluxFiles(input: GitopsInput, header: string): ExportedFile[] {
  const docs = fluxObjects(input.rendered, input.repo!).map(toYaml).join("---\n");
  return [
    {
      path: "flux/mathison.yaml",
      content: `${header}# Apply once: kubectl apply -f flux/mathison.yaml (Flux's namespace: flux-system).\n${docs}`,
    },
  ];
}

/**
 * Flux's GitRepository and one Kustomization per stage, each depending on the stage before and
 * waiting for its objects to be ready (the migration Job complete) before the next one starts.
 * The Namespace's and the databases' stages are never pruned.
 */
export function fluxObjects(rendered: RenderedPlan, repo: RepoLocation): KubeObject[] {
  const name = clusterScopedName(rendered.namespace);
  const source: KubeObject = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name, namespace: "flux-system" },
    spec: { interval: "1m", url: repo.url, ref: { branch: repo.branch } },
  };
  const stages = rendered.stages.map(
    (stage): KubeObject => ({
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: `${name}-${stage.id}`, namespace: "flux-system" },
      spec: {
        interval: "10m",
        path: `./${joinPath(repo.path, `base/${stageDir(stage)}`)}`,
        sourceRef: { kind: "GitRepository", name },
        prune: keptKindsOf(stage).length === 0,
        wait: true,
        timeout: "10m",
        ...(stage.index > 0 ? { dependsOn: [{ name: `${name}-${rendered.stages[stage.index - 1]!.id}` }] } : {}),
      },
    }),
  );
  return [source, ...stages];
}

function joinPath(dir: string, sub: string): string {
  const d = dir.replace(/^\.\/?/, "").replace(/\/+$/, "");
  return d === "" ? sub : `${d}/${sub}`;
}

/** The stages applied by hand: each stage, then a wait for its workloads (the migration Job to complete). */
export function applyCommands(rendered: RenderedPlan): string[] {
  const ns = rendered.namespace;
  return rendered.stages.flatMap((stage) => [
    `kubectl apply --server-side --force-conflicts -k base/${stageDir(stage)}`,
    ...stage.objects.flatMap((o) => {
      if (o.kind === "Job")
        return [`kubectl -n ${ns} wait --for=condition=complete job/${o.metadata.name} --timeout=10m`];
      if (o.kind === "Deployment" || o.kind === "StatefulSet")
        return [`kubectl -n ${ns} rollout status ${o.kind.toLowerCase()}/${o.metadata.name} --timeout=10m`];
      return [];
    }),
  ]);
}

function readme(input: GitopsInput): string {
  const { rendered, flavor } = input;
  const ns = rendered.namespace;
  const order = rendered.stages.map((s) => `${s.index + 1}. \`base/${stageDir(s)}\` — ${s.title}`).join("\n");
  const exportAgain = `mathison-install export --gitops . --values values.yaml --flavor ${flavor}${input.repo ? ` --repo-url ${input.repo.url} --repo-path ${input.repo.path} --repo-branch ${input.repo.branch}` : ""}`;
  return `# Mathison in namespace ${ns}

Written by \`mathison-install export --gitops\` (installer ${input.installerVersion}, flavor ${flavor}).
\`kubectl kustomize base\` builds exactly the objects \`mathison-install install\` applies with the
answers in \`values.yaml\`, except the Secrets, which never leave the cluster. Read it top to bottom:
on an empty cluster, sections 1 to 3 run as written install Mathison (\`mathison-install\` is
\`npx mathison-install\` where it is not installed).

## 1. Secrets, first

\`${SECRET_NAME}\` (and \`${REGISTRY_SECRET_NAME}\` with a private registry) are not in this directory.
PostgreSQL, web and worker wait for them: create them in the cluster before anything else. The
installer keeps every value the install already has (and generates AUTH_SECRET and
POSTGRES_PASSWORD once); give ANTHROPIC_API_KEY in the environment on the first run:

\`\`\`
mathison-install secrets apply --namespace ${ns}
\`\`\`

Or have External Secrets fill them: \`secrets/external-secret.example.yaml\` lists the keys.

## 2. The stages, in order

${order}

${applySection(input)}

## 3. Check

\`\`\`
mathison-install status --namespace ${ns}
\`\`\`

\`mathison-install verify --namespace ${ns}\` runs the whole checklist (DNS, TLS, the web UI's health).

## Upgrading, or changing an answer

1. Back up the database first (a migration cannot be undone without it):
   \`mathison-install backup --namespace ${ns} --out mathison-before-upgrade.dump\`
2. Edit \`values.yaml\` (\`tag\`, or another answer), then, in this directory,
   \`${exportAgain}\`
3. Review and commit the result${flavor === "kustomize" ? "; apply the stages again as in section 2" : `; ${flavor === "argocd" ? "Argo CD" : "Flux"} syncs it`}, and check as in section 3.

After \`mathison-install secrets apply --rotate KEY\`, export again and commit too: the pod templates
carry a digest of the config and secrets (\`mathison.dev/config-digest\`), so web and worker roll
with the new values.

## Rolling back

Revert the commit${flavor === "kustomize" ? " and apply the stages again" : " and let the controller sync it"}. If the upgrade's migration already changed the
database, the older release may not run on it: ${rollbackRestore(input)}
\`mathison-install restore mathison-before-upgrade.dump --namespace ${ns}\`.

## Leaving GitOps

${leaveGitops(input)}
`;
}

/** Section 2's way of applying: the commands for kustomize, the one object a controller needs otherwise. */
function applySection(input: GitopsInput): string {
  const { rendered, flavor } = input;
  switch (flavor) {
    case "kustomize":
      return `Apply them in order, each waited for before the next (\`kubectl kustomize base\` builds them all at once, for review; \`--force-conflicts\` takes over the fields an earlier \`mathison-install\` run applied, whose values are the same):\n\n\`\`\`\n${applyCommands(rendered).join("\n")}\n\`\`\``;
    case "argocd":
      return `\`argocd/\` is the same objects with Argo CD's sync waves (one per stage; the migration Job is a Sync hook in its wave, so it runs after PostgreSQL is ready and before web and worker roll). Commit this directory, then apply the Application once; Argo CD follows the repository from then on:\n\n\`\`\`\nkubectl apply -f argocd-application.yaml\n\`\`\``;
    case "flux":
      return `\`flux/mathison.yaml\` holds a GitRepository and one Kustomization per stage, chained with \`dependsOn\` and \`wait: true\`. Commit this directory, then apply it once; Flux follows the repository from then on:\n\n\`\`\`\nkubectl apply -f flux/mathison.yaml\n\`\`\``;
  }
}

function rollbackRestore(input: GitopsInput): string {
  const name = clusterScopedName(input.rendered.namespace);
  switch (input.flavor) {
    case "kustomize":
      return "restore the backup made before it,";
    case "argocd":
      return `pause Argo CD (\`argocd app set ${name} --sync-policy none\`), restore the backup made before it, and resume Argo CD after:`;
    case "flux":
      return `suspend Flux (\`flux suspend kustomization ${name}-app -n flux-system\`), restore the backup made before it, and resume Flux after:`;
  }
}

function leaveGitops(input: GitopsInput): string {
  const ns = input.rendered.namespace;
  const name = clusterScopedName(ns);
  const back = `\`mathison-install install --namespace ${ns} --leave-gitops\` then takes the install back: it removes the controller's marks from the objects (the installer refuses an install a controller applies) and manages it from then on.`;
  switch (input.flavor) {
    case "kustomize":
      return `Nothing to leave: objects applied with kubectl are still the installer's. \`mathison-install install --namespace ${ns}\` manages the install again as it is.`;
    case "argocd":
      return `Delete the Application without its objects (\`argocd app delete ${name} --cascade=false\`). ${back}`;
    case "flux":
      return `Set \`prune: false\` on the Kustomizations ${name}-*, then delete them (their objects stay). ${back}`;
  }
}
