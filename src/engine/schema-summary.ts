// What a database holds, as a backup's manifest records it and a restore checks it: the SQL that
// reads it in one statement, and the comparison.

/** A table's rows as a backup's manifest records them: how many, and a checksum that ignores their order. */
export interface TableRows {
  readonly rows: number;
  /** The sum of a 64-bit hash of each row's text, as PostgreSQL prints it (a numeric: exact). */
  readonly checksum: string;
}

/** What a database holds, as a backup's manifest records it and a restore checks it. */
export interface SchemaSummary {
  /** `schema.table` of every table (extensions' own excluded), sorted. */
  readonly tables: readonly string[];
  /** Installed extensions, sorted. */
  readonly extensions: readonly string[];
  /** Each table's rows, hashed by their text, read in the dump's own snapshot (manifests of 0.1 before `fieldRows`; older ones have none). */
  readonly rows?: Readonly<Record<string, TableRows>>;
  /**
   * Each table's rows, hashed by their fields' own hash functions (FIELD_ROWS_SQL): what backups
   * record now. A separate key, so that an installer that knows only `rows` checks the tables
   * of such a backup and no checksums, rather than refusing it on checksums it computes otherwise.
   */
  readonly fieldRows?: Readonly<Record<string, TableRows>>;
}

/** The application's tables: not the catalogs', not TOAST's, not an extension's own. */
const TABLES = `SELECT n.nspname, c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

export const SCHEMA_SQL = `SELECT 'table', t.nspname || '.' || t.relname FROM (${TABLES}) t
UNION ALL SELECT 'extension', extname FROM pg_extension WHERE extname <> 'plpgsql'
ORDER BY 1, 2;`;

/**
 * Every table's row count and checksum, in one statement (one snapshot). query_to_xml runs the
 * per-table count in a read-only statement, so it works inside a backup's REPEATABLE READ
 * transaction; each row's text is what a restore reproduces exactly on the same server.
 */
export const ROWS_SQL = `SELECT 'rows', t.nspname || '.' || t.relname, (xpath('/row/n/text()', x))[1]::text, (xpath('/row/s/text()', x))[1]::text
FROM (${TABLES}) t CROSS JOIN LATERAL query_to_xml(
  format('SELECT count(*) AS n, coalesce(sum(hashtextextended(r::text, 0)), 0) AS s FROM %I.%I r', t.nspname, t.relname), false, true, '') x
ORDER BY 2;`;

/**
 * A table's fields as hash_record_extended takes them: each field of a type with an extended
 * hash function as it is, any other (pgvector's vector, json, arrays, composites) by its text.
 */
const HASHED_FIELDS = `(SELECT coalesce(string_agg(CASE WHEN EXISTS (
    SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
      JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amproclefttype = a.atttypid AND p.amprocrighttype = a.atttypid AND p.amprocnum = 2
    WHERE am.amname = 'hash' AND oc.opcdefault AND oc.opcintype = a.atttypid)
  THEN format('r.%I', a.attname) ELSE format('r.%I::text', a.attname) END, ', ' ORDER BY a.attnum), '')
  FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)`;

/**
 * ROWS_SQL's count with a cheaper checksum: each row hashed by its fields' own hash functions
 * (the ones hash partitioning relies on, stable across versions), not by printing it as text:
 * half the time of a scan on the benchmark's table. Fields of types without one go by their text.
 */
export const FIELD_ROWS_SQL = `SELECT 'fieldRows', t.nspname || '.' || t.relname, (xpath('/row/n/text()', x))[1]::text, (xpath('/row/s/text()', x))[1]::text
FROM (${TABLES}) t CROSS JOIN LATERAL query_to_xml(
  format('SELECT count(*) AS n, coalesce(sum(hash_record_extended(ROW(%s), 0)), 0) AS s FROM %I.%I r', ${HASHED_FIELDS}, t.nspname, t.relname), false, true, '') x
ORDER BY 2;`;

/** What counts the rows of a database the way `expected` recorded them; "" where it recorded none. */
export function rowsSqlFor(expected: SchemaSummary | undefined): string {
  return expected?.fieldRows ? FIELD_ROWS_SQL : expected?.rows ? ROWS_SQL : "";
}

/** The rows of SCHEMA_SQL (and ROWS_SQL or FIELD_ROWS_SQL, when one ran) as a summary. */
export function schemaOf(rows: readonly string[][]): SchemaSummary {
  const of = (kind: string) => rows.filter((r) => r[0] === kind).map((r) => r[1] ?? "");
  const counted = (kind: "rows" | "fieldRows") => {
    const found = rows.filter((r) => r[0] === kind);
    return found.length === 0
      ? {}
      : { [kind]: Object.fromEntries(found.map((r) => [r[1] ?? "", { rows: Number(r[2]), checksum: r[3] ?? "" }])) };
  };
  return { tables: of("table"), extensions: of("extension"), ...counted("rows"), ...counted("fieldRows") };
}

/** How two summaries differ, in words; "" when they agree. Rows are compared when both have them. */
export function schemaDifference(expected: SchemaSummary, found: SchemaSummary): string {
  const parts: string[] = [];
  for (const kind of ["tables", "extensions"] as const) {
    const missing = expected[kind].filter((t) => !found[kind].includes(t));
    const extra = found[kind].filter((t) => !expected[kind].includes(t));
    if (missing.length > 0) parts.push(`${kind} missing: ${missing.join(", ")}`);
    if (extra.length > 0) parts.push(`${kind} not in the dump: ${extra.join(", ")}`);
  }
  if (parts.length === 0 && expected.fieldRows && found.fieldRows)
    parts.push(...rowsDifference(expected.fieldRows, found.fieldRows));
  else if (parts.length === 0 && expected.rows && found.rows) parts.push(...rowsDifference(expected.rows, found.rows));
  return parts.join("; ");
}

function rowsDifference(
  expected: Readonly<Record<string, TableRows>>,
  found: Readonly<Record<string, TableRows>>,
): string[] {
  return Object.entries(expected).flatMap(([table, want]) => {
    const got = found[table];
    if (!got) return [`table ${table} was not counted`];
    if (got.rows !== want.rows) return [`table ${table} has ${got.rows} rows, the dump's manifest says ${want.rows}`];
    if (got.checksum !== want.checksum) return [`table ${table}'s rows differ from the dump's (checksum)`];
    return [];
  });
}
