/**
 * A subset of JSON Schema as data, with the TypeScript type each schema describes (`Infer`): a
 * public shape (the JSON Lines events) is written once, and its type, its published JSON Schema
 * and the check of a value against it all come from that one description.
 */
export type Schema = StringSchema | EnumSchema | ScalarSchema | ArraySchema | ObjectSchema;

export interface StringSchema {
  readonly type: "string";
  readonly description: string;
}
export interface EnumSchema<E extends readonly string[] = readonly string[]> {
  readonly type: "string";
  readonly enum: E;
  readonly description: string;
}
export interface ScalarSchema {
  readonly type: "number" | "integer" | "boolean";
  readonly description: string;
}
export interface ArraySchema<T extends Schema = Schema> {
  readonly type: "array";
  readonly items: T;
  readonly description: string;
}
export interface ObjectSchema<
  P extends Readonly<Record<string, Schema>> = Readonly<Record<string, Schema>>,
  O extends readonly string[] = readonly string[],
> {
  readonly type: "object";
  readonly properties: P;
  /** The properties that may be absent; every other one is required. */
  readonly optional: O;
  readonly description: string;
  /** A document described elsewhere (what a command prints): only that it is an object is checked. */
  readonly open?: true;
}

export const string = (description = ""): StringSchema => ({ type: "string", description });
export const oneOf = <const E extends readonly string[]>(values: E, description = ""): EnumSchema<E> => ({
  type: "string",
  enum: values,
  description,
});
export const number = (description = ""): ScalarSchema & { readonly type: "number" } => ({
  type: "number",
  description,
});
export const integer = (description = ""): ScalarSchema & { readonly type: "integer" } => ({
  type: "integer",
  description,
});
export const boolean = (description = ""): ScalarSchema & { readonly type: "boolean" } => ({
  type: "boolean",
  description,
});
export const list = <const T extends Schema>(items: T, description = ""): ArraySchema<T> => ({
  type: "array",
  items,
  description,
});
/** An object whose properties are all required; with `optional`, those may be absent. */
export function object<const P extends Readonly<Record<string, Schema>>>(properties: P): ObjectSchema<P, readonly []>;
export function object<const P extends Readonly<Record<string, Schema>>, const O extends readonly (keyof P & string)[]>(
  properties: P,
  optional: O,
  description?: string,
): ObjectSchema<P, O>;
export function object(
  properties: Readonly<Record<string, Schema>>,
  optional: readonly string[] = [],
  description = "",
): ObjectSchema {
  return { type: "object", properties, optional, description };
}

/** An object whose fields are described elsewhere (a document a command prints): only that it is one is checked. */
export const document = (description = ""): ObjectSchema<Readonly<Record<never, Schema>>, readonly []> => ({
  type: "object",
  properties: {},
  optional: [],
  description,
  open: true,
});

type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The type of the values a schema describes. */
export type Infer<S> =
  S extends EnumSchema<infer E>
    ? E[number]
    : S extends { readonly type: "string" }
      ? string
      : S extends { readonly type: "number" | "integer" }
        ? number
        : S extends { readonly type: "boolean" }
          ? boolean
          : S extends ArraySchema<infer T>
            ? readonly Infer<T>[]
            : S extends ObjectSchema<infer P, infer O>
              ? Flatten<
                  { readonly [K in Exclude<keyof P, O[number]>]: Infer<P[K]> } & {
                    readonly [K in Extract<keyof P, O[number]>]?: Infer<P[K]>;
                  }
                >
              : never;

/** The JSON Schema (draft 2020-12) of a schema: what is published for other programs. */
export function toJsonSchema(s: Schema): Record<string, unknown> {
  const described = s.description ? { description: s.description } : {};
  switch (s.type) {
    case "array":
      return { type: "array", ...described, items: toJsonSchema(s.items) };
    case "object":
      if (s.open) return { type: "object", ...described };
      return {
        type: "object",
        ...described,
        properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, toJsonSchema(v)])),
        required: Object.keys(s.properties).filter((k) => !s.optional.includes(k)),
        additionalProperties: false,
      };
    case "string":
      return "enum" in s ? { type: "string", ...described, enum: [...s.enum] } : { type: "string", ...described };
    default:
      return { type: s.type, ...described };
  }
}

/** What in `value` the schema does not allow, one line each (`changes[0].action: "x" is not one of …`); empty when it fits. */
export function problemsOf(s: Schema, value: unknown, path = "(value)"): string[] {
  switch (s.type) {
    case "string":
      if (typeof value !== "string") return [`${path}: ${JSON.stringify(value)} is not a string`];
      return "enum" in s && !s.enum.includes(value)
        ? [`${path}: ${JSON.stringify(value)} is not one of ${s.enum.join(", ")}`]
        : [];
    case "number":
      return typeof value === "number" && Number.isFinite(value)
        ? []
        : [`${path}: ${JSON.stringify(value)} is not a number`];
    case "integer":
      return Number.isInteger(value) ? [] : [`${path}: ${JSON.stringify(value)} is not an integer`];
    case "boolean":
      return typeof value === "boolean" ? [] : [`${path}: ${JSON.stringify(value)} is not a boolean`];
    case "array":
      return Array.isArray(value)
        ? value.flatMap((v, i) => problemsOf(s.items, v, `${path}[${i}]`))
        : [`${path}: ${JSON.stringify(value)} is not an array`];
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        return [`${path}: ${JSON.stringify(value)} is not an object`];
      if (s.open) return [];
      const v = value as Record<string, unknown>;
      const missing = Object.keys(s.properties)
        .filter((k) => !s.optional.includes(k) && v[k] === undefined)
        .map((k) => `${path}.${k}: missing`);
      const unknown = Object.keys(v)
        .filter((k) => !(k in s.properties))
        .map((k) => `${path}.${k}: not in the schema`);
      const wrong = Object.entries(s.properties).flatMap(([k, sub]) =>
        v[k] === undefined ? [] : problemsOf(sub, v[k], `${path}.${k}`),
      );
      return [...missing, ...unknown, ...wrong];
    }
  }
}
