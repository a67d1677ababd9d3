import { LOCK_NAME } from "../facts/names.js";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeApiError, type Kube } from "../kube/types.js";
import { type KubeObject, typed } from "../facts/objects.js";
import {
  describeHolder,
  LockHeldError,
  HOLDER_ANNOTATION,
  holderIsGone,
  holderOf,
  type LockHolder,
  type ProcessSpace,
  thisHolder,
  thisProcessSpace,
} from "./lock-holder.js";

/** A holder that stopped renewing for this long (a killed run) loses the lock to the next run. */
export const LEASE_SECONDS = 15;
/** A holder renews three times per lease: one lost renewal never loses the lock. */
const renewMsOf = (leaseSeconds: number) => (leaseSeconds * 1000) / 3;
/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function leaseSecondsOf(lease: KubeObject): number {
  return typed(lease, "Lease").spec?.leaseDurationSeconds ?? LEASE_SECONDS;
}

/**
 * The holder's record as a reader compares it: any change (a renewal, a new holder) means the
 * holder was alive then. Its times are the holder's clock's, never compared with ours.
 */
function recordOf(lease: KubeObject): string {
  const spec = typed(lease, "Lease").spec;
  return JSON.stringify([spec?.holderIdentity, spec?.renewTime, spec?.acquireTime, spec?.leaseDurationSeconds]);
}

/** This process's monotonic clock in ms: what a lease's expiry is measured on, never a wall clock. */
export type Monotonic = () => number;
const monotonic: Monotonic = () => performance.now();

/**
 * The lock as a `status` report sees it in one read: who holds it, or undefined when free or
 * held by a process of this machine that is gone. One read cannot tell a live holder from one
 * killed elsewhere (that takes watching for a lease, by this machine's clock): `status` says so.
 */
export async function currentHolder(
  kube: Kube,
  namespace: string,
  space: ProcessSpace = thisProcessSpace(),
): Promise<{ holder: LockHolder | undefined; leaseSeconds: number } | undefined> {
  const lease = await kube.get({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: LOCK_NAME, namespace });
  if (!lease?.spec?.holderIdentity || holderIsGone(holderOf(lease), space)) return undefined;
  return { holder: holderOf(lease), leaseSeconds: leaseSecondsOf(lease) };
}

export interface HeldLock {
  /** Set when the previous holder's process was gone or it stopped renewing, and this run took the lock over. */
  readonly tookOverFrom: LockHolder | undefined;
  /** Why it was taken over: `its process is gone`, or `it stopped renewing it`. */
  readonly tookOverBecause?: string;
  /** Stops renewing and deletes the Lease if it is still ours. */
  release(): Promise<void>;
}

/** How long to wait for a held lock, and how waiting is told. */
export interface LockWait {
  /** `--lock-timeout`: how long to wait for a live holder (default 0: refuse at once). */
  readonly timeoutMs: number;
  /** Told once per wait, with the holder and how long at most. */
  readonly onWait: (message: string) => void;
  /** This run's lease (default 15 s): how soon the next run may take over if this one is killed. */
  readonly leaseSeconds?: number;
  /** Ends the wait (Ctrl-C): the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** What this run saw of a Lease it does not hold: the holder's record, and since when, by this run's own clock. */
interface Observation {
  readonly record: string;
  readonly since: number;
  /** The record changed while this run watched: its holder was alive then. */
  readonly renewing: boolean;
}

/** The next observation of `lease`: a changed record restarts the count. */
function observe(previous: Observation | undefined, lease: KubeObject, clock: Monotonic): Observation {
  const record = recordOf(lease);
  if (previous?.record === record) return previous;
  return { record, since: clock(), renewing: previous !== undefined };
}

/** The clocks a lock reads: the wall clock only for what it writes, the monotonic one for every expiry. */
export interface LockClocks {
  readonly now: () => Date;
  readonly monotonic: Monotonic;
}
const CLOCKS: LockClocks = { now: () => new Date(), monotonic };

/**
 * One run at a time per install, as client-go's leader election: a held Lease is expired when
 * its holder's record has not changed for its lease duration, counted on this run's monotonic
 * clock from when this run first saw that record, so no clock of another machine is read. A
 * holder proven gone on this machine is taken over at once. Otherwise this run watches: a record
 * that changes means a live holder, refused at once (exit 6) or, with `--lock-timeout`, waited
 * for until then; one that stays unchanged for a lease is taken over.
 */
export async function acquireLock(
  kube: Kube,
  namespace: string,
  context: string,
  onLost: (message: string) => void,
  wait: LockWait = { timeoutMs: 0, onWait: () => undefined },
  clocks: LockClocks = CLOCKS,
): Promise<HeldLock> {
  // Read once: this process, as the Lease names it and as a gone holder is judged against.
  const where = { namespace, context, leaseSeconds: wait.leaseSeconds ?? LEASE_SECONDS, space: thisProcessSpace() };
  const deadline = clocks.monotonic() + wait.timeoutMs;
  let seen: Observation | undefined;
  let told = false;
  for (;;) {
    wait.signal?.throwIfAborted();
    const attempt = await acquireOnce(kube, where, onLost, clocks, seen);
    if ("held" in attempt) return attempt.held;
    seen = attempt.seen;
    const leaseMs = leaseSecondsOf(attempt.lease) * 1000;
    const left = seen.since + leaseMs - clocks.monotonic();
    if (seen.renewing && clocks.monotonic() >= deadline)
      throw new LockHeldError(holderOf(attempt.lease), new Date(clocks.now().getTime() + Math.max(0, left)));
    if (!told) {
      told = true;
      wait.onWait(waitingMessage(holderOf(attempt.lease), wait.timeoutMs, leaseMs));
    }
    const pollMs = Math.min(1_000, Math.max(10, leaseMs / 12));
    await sleep(pollMs, undefined, wait.signal ? { signal: wait.signal } : undefined);
  }
}

function waitingMessage(holder: LockHolder | undefined, timeoutMs: number, leaseMs: number): string {
  const who = describeHolder(holder);
  return timeoutMs > 0
    ? `the install's lock is held by ${who}: waiting up to ${Math.ceil(timeoutMs / 1000)} s (--lock-timeout) for it to finish, or ${Math.ceil(leaseMs / 1000)} s of it not renewing the lock`
    : `the install's lock is held by ${who}: watching up to ${Math.ceil(leaseMs / 1000)} s whether it still renews it (a run that stopped is taken over then)`;
}

/** Which install's lock, for whom, for how long at a time, and where this process runs. */
interface LeaseWhere {
  readonly namespace: string;
  readonly context: string;
  readonly leaseSeconds: number;
  readonly space: ProcessSpace;
}

const LEASE_REF = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: LOCK_NAME } as const;

function desiredLease(
  where: LeaseWhere,
  identity: string,
  holder: LockHolder,
  t: Date,
  transitions: number,
): KubeObject {
  return {
    ...LEASE_REF,
    metadata: {
      name: LOCK_NAME,
      namespace: where.namespace,
      annotations: { [HOLDER_ANNOTATION]: JSON.stringify(holder) },
      labels: { "app.kubernetes.io/part-of": "mathison", "app.kubernetes.io/managed-by": "mathison-install" },
    },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: where.leaseSeconds,
      acquireTime: microTime(t),
      renewTime: microTime(t),
      leaseTransitions: transitions,
    },
  };
}

type Attempt = { readonly held: HeldLock } | { readonly lease: KubeObject; readonly seen: Observation };

/**
 * One try: a coordination.k8s.io Lease in the namespace, created by the first run (a create is
 * atomic: a second gets 409), renewed while the run applies, deleted when it ends. A Lease whose
 * record this run has seen unchanged for its duration, or whose holder is proven gone, is taken
 * over with an update that carries its resourceVersion, so two runs cannot both take it over.
 */
async function acquireOnce(
  kube: Kube,
  where: LeaseWhere,
  onLost: (message: string) => void,
  clocks: LockClocks,
  seen: Observation | undefined,
): Promise<Attempt> {
  const identity = `${where.space.user}@${where.space.host} pid ${process.pid} ${randomBytes(4).toString("hex")}`;
  const holder = thisHolder(where.context, where.space, clocks.now());
  try {
    const lease = await kube.create(desiredLease(where, identity, holder, clocks.now(), 0));
    return { held: holding(kube, lease, where, onLost, clocks) };
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
  }
  const existing = await kube.get({ ...LEASE_REF, namespace: where.namespace });
  if (!existing) return acquireOnce(kube, where, onLost, clocks, seen);
  const observed = observe(seen, existing, clocks.monotonic);
  const gone = holderIsGone(holderOf(existing), where.space);
  const expired = clocks.monotonic() - observed.since >= leaseSecondsOf(existing) * 1000;
  if (existing.spec?.holderIdentity && !gone && !expired) return { lease: existing, seen: observed };
  const next = desiredLease(
    where,
    identity,
    holder,
    clocks.now(),
    (typed(existing, "Lease").spec?.leaseTransitions ?? 0) + 1,
  );
  next.metadata.resourceVersion = existing.metadata.resourceVersion;
  let lease: KubeObject;
  try {
    lease = await kube.replace(next);
  } catch (e) {
    // Another run took it over first: its record is new, so watch it afresh.
    if (e instanceof KubeApiError && e.status === 409)
      return { lease: existing, seen: { ...observed, since: clocks.monotonic(), renewing: true } };
    throw e;
  }
  const from = existing.spec?.holderIdentity ? holderOf(existing) : undefined;
  return {
    held: holding(kube, lease, where, onLost, clocks, from, gone ? "its process is gone" : "it stopped renewing it"),
  };
}

/**
 * The lock held: renewed three times a lease; lost when another run replaced it (409/404). A
 * renewal that cannot get through (the API server unreachable) is tried again at the next tick:
 * an outage is waited out, as the stages wait it out, and a run that was taken over meanwhile
 * learns it from its first renewal once the server answers again.
 */
function holding(
  kube: Kube,
  taken: KubeObject,
  where: LeaseWhere,
  onLost: (message: string) => void,
  clocks: LockClocks,
  tookOverFrom?: LockHolder,
  tookOverBecause?: string,
): HeldLock {
  let lease = taken;
  let stopped = false;
  const lose = (message: string): void => {
    stopped = true;
    clearInterval(timer);
    onLost(message);
  };
  const renew = async (): Promise<void> => {
    const next = structuredClone(lease);
    next.spec.renewTime = microTime(clocks.now());
    try {
      lease = await kube.replace(next);
    } catch (err) {
      if (stopped) return;
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 404))
        lose("the install's lock was taken by another run (this run stopped renewing it in time)");
    }
  };
  const timer = setInterval(() => void renew(), renewMsOf(where.leaseSeconds));
  timer.unref();
  return {
    tookOverFrom,
    ...(tookOverFrom && tookOverBecause ? { tookOverBecause } : {}),
    async release() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // Only the Lease as this run last wrote it: one taken over meanwhile has another version (409, left alone).
      await kube
        .delete(
          { ...LEASE_REF, namespace: where.namespace },
          lease.metadata.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {},
        )
        .catch(() => undefined);
    },
  };
}
