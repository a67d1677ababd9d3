// Mathison's own names: what the manifests call its objects and what the installer calls its own.
// One place, so no file spells one of them out again.

export const DEFAULT_NAMESPACE = "mathison-system";
export const SECRET_NAME = "mathison-secrets";
/** The pull secret the installer makes from --registry-username/--registry-password-file or --docker-config. */
export const REGISTRY_SECRET_NAME = "mathison-registry";
export const CONFIGMAP_NAME = "mathison-config";
export const WEB_DEPLOYMENT_NAME = "mathison-web";
export const MIGRATION_JOB_PREFIX = "mathison-migrate-";
/** The ConfigMap every run reads and every run that applied something writes. */
export const RECORD_NAME = "mathison-install";
/** The Lease that lets one run at a time change an install. */
export const LOCK_NAME = "mathison-install-lock";
/** Server-side apply's field manager: the fields the installer owns. */
export const FIELD_MANAGER_NAME = "mathison-install";
/** The StatefulSets' claims, as their controller names them (`<template>-<set>-0`). */
export const CLAIM_NAMES = ["data-postgres-0", "data-redis-0"] as const;
/** Pod template annotation with a digest of the config and secrets: a change rolls web and worker out. */
export const CONFIG_DIGEST_ANNOTATION = "mathison.dev/config-digest";
/** On the Secret an uninstall keeps: the release that last migrated the kept database. */
export const DATA_MIGRATED_BY_ANNOTATION = "mathison.dev/data-migrated-by";

/** Redis's container, in the pod its label finds (backups and verify exec into it). */
export const REDIS_CONTAINER = "redis";
/** The pod a restore puts Redis's snapshot in through, while Redis is stopped. */
export const REDIS_RESTORE_POD = "mathison-redis-restore";
