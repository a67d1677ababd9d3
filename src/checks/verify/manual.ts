/**
 * What only a person can check (seed 000 Verification, seed 001 §4-5): what to do, and where to
 * look when it does not work. A "no" shows the troubleshooting and counts as a failure.
 */
export interface ManualCheck {
  readonly id: string;
  readonly title: string;
  /** What to do, given the install's URL and namespace. */
  todo(url: string): string;
  troubleshooting(namespace: string, url: string): readonly string[];
}

export const MANUAL_CHECKS: readonly ManualCheck[] = [
  {
    id: "login",
    title: "Login works through the Ingress URL",
    todo: (url) => `open ${url} in a browser and sign in`,
    troubleshooting: (ns, url) => [
      `a sign-in that returns to another address: AUTH_URL must be ${url} (see the AUTH_URL check); re-run install with --domain`,
      `kubectl -n ${ns} logs deploy/mathison-web | grep -i auth`,
    ],
  },
  {
    id: "chat-streams",
    title: "AI chat streams through the Ingress",
    todo: () => "start a chat and ask something: the answer should appear word by word, not all at once",
    troubleshooting: (ns) => [
      "an answer that arrives all at once, or breaks off after a minute: the ingress controller buffers or times out server-sent events",
      "ingress-nginx: nginx.ingress.kubernetes.io/proxy-buffering=off and proxy-read-timeout=300 on the Ingress (see the SSE check)",
      `kubectl -n ${ns} get ingress mathison-web -o yaml`,
    ],
  },
  {
    id: "chat-deploys",
    title: "The worker can deploy an app via chat",
    todo: () => "ask the chat to deploy a small app, and watch it appear",
    troubleshooting: (ns) => [
      "the worker needs its RBAC: see the Permissions check",
      `kubectl auth can-i create deployments --as=system:serviceaccount:${ns}:mathison -n default`,
      `kubectl -n ${ns} logs deploy/mathison-worker`,
    ],
  },
];
