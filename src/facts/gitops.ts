// Whether a GitOps controller applies an install is a fact of the cluster, read from the marks the
// controllers leave on what they apply — never from a mark of the installer's own: an export only
// writes files, and an install stays the installer's until a controller has synced it.
import type { KubeObject } from "./objects.js";

/** A controller that applies the install's objects, as the live objects show it. */
export interface GitopsManaged {
  readonly flavor: "argocd" | "flux";
  /** The Argo CD Application's or the Flux Kustomization's name. */
  readonly name: string;
  /** The namespace of that Application or Kustomization, when the mark names it. */
  readonly namespace?: string;
  /** The object and the mark it was seen by, for messages: "Deployment/mathison-web: annotation …". */
  readonly seenBy: string;
}

/** Argo CD's annotation tracking (its default since 3.0): `APP:GROUP/KIND:NAMESPACE/NAME`, APP as `NS_NAME` outside argocd's namespace. */
export const ARGOCD_TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id";
/** Argo CD's label tracking (the older default). The installer's own manifests never set this label. */
export const ARGOCD_INSTANCE_LABEL = "app.kubernetes.io/instance";
/** Flux's kustomize-controller labels every object it applies with its Kustomization. */
export const FLUX_NAME_LABEL = "kustomize.toolkit.fluxcd.io/name";
export const FLUX_NAMESPACE_LABEL = "kustomize.toolkit.fluxcd.io/namespace";

/** Every mark a controller leaves: what `install --leave-gitops` removes so the install is the installer's again. */
export const GITOPS_MARKS = {
  annotations: [ARGOCD_TRACKING_ANNOTATION],
  labels: [ARGOCD_INSTANCE_LABEL, FLUX_NAME_LABEL, FLUX_NAMESPACE_LABEL],
} as const;

/** The controller whose marks `obj` carries, if any. */
export function gitopsManagerOf(obj: KubeObject): GitopsManaged | undefined {
  const where = `${obj.kind}/${obj.metadata.name}`;
  const labels = obj.metadata.labels ?? {};
  const tracking = obj.metadata.annotations?.[ARGOCD_TRACKING_ANNOTATION];
  if (tracking) {
    const app = tracking.split(":")[0] ?? "";
    const [ns, name] = app.includes("_") ? [app.slice(0, app.indexOf("_")), app.slice(app.indexOf("_") + 1)] : [];
    return {
      flavor: "argocd",
      name: name ?? app,
      ...(ns ? { namespace: ns } : {}),
      seenBy: `${where}: annotation ${ARGOCD_TRACKING_ANNOTATION}`,
    };
  }
  const flux = labels[FLUX_NAME_LABEL];
  if (flux) {
    const ns = labels[FLUX_NAMESPACE_LABEL];
    return {
      flavor: "flux",
      name: flux,
      ...(ns ? { namespace: ns } : {}),
      seenBy: `${where}: label ${FLUX_NAME_LABEL}`,
    };
  }
  const instance = labels[ARGOCD_INSTANCE_LABEL];
  if (instance) return { flavor: "argocd", name: instance, seenBy: `${where}: label ${ARGOCD_INSTANCE_LABEL}` };
  return undefined;
}

/** `obj` without any controller's marks; undefined when it carries none. */
export function withoutGitopsMarks(obj: KubeObject): KubeObject | undefined {
  const annotations = { ...obj.metadata.annotations };
  const labels = { ...obj.metadata.labels };
  let found = false;
  for (const key of GITOPS_MARKS.annotations) if (key in annotations) found = delete annotations[key];
  for (const key of GITOPS_MARKS.labels) if (key in labels) found = delete labels[key];
  return found ? { ...obj, metadata: { ...obj.metadata, annotations, labels } } : undefined;
}

/** Who applies a GitOps-managed install, and the commands that pause it or let it go without deleting anything. */
export interface Controller {
  readonly name: string;
  readonly suspend: string;
  readonly release: string;
}

export function gitopsController(g: GitopsManaged): Controller {
  const ns = g.namespace ? ` -n ${g.namespace}` : "";
  switch (g.flavor) {
    case "argocd":
      return {
        name: `Argo CD Application ${g.name}`,
        suspend: `argocd app set ${g.namespace ? `${g.namespace}/` : ""}${g.name} --sync-policy none`,
        release: `argocd app delete ${g.namespace ? `${g.namespace}/` : ""}${g.name} --cascade=false`,
      };
    case "flux":
      return {
        name: `Flux Kustomization ${g.name} (and the ones it depends on)`,
        suspend: `flux suspend kustomization ${g.name}${ns}`,
        release: `set prune: false on each, then delete them`,
      };
  }
}

/**
 * What a command that changes a GitOps-managed install must say first: the controller would
 * undo it (selfHeal scales web and worker back up; a synced repository applies everything again).
 */
export function gitopsWarning(g: GitopsManaged, doing: "restore" | "uninstall"): string {
  const c = gitopsController(g);
  const what =
    doing === "restore"
      ? `suspend the ${c.name} first (${c.suspend}) and resume it after, or it starts web and worker during the restore`
      : `remove the ${c.name} first, keeping its objects (${c.release}), or it applies everything again`;
  return `GitOps-managed (${g.flavor}, seen by ${g.seenBy}): ${what}`;
}
