import type { FieldKey } from "../../config/fields.js";
import { type Asking, asPrompt, type Question, spec } from "./question.js";

const OWN_DATABASES = [
  {
    key: "postgresUrl",
    password: "postgresPassword",
    what: "PostgreSQL",
    example: "postgres://USER@HOST:5432/DATABASE",
    ca: "--postgres-ca-file",
  },
  { key: "redisUrl", password: "redisPassword", what: "Redis", example: "rediss://HOST:6379/0", ca: "--redis-ca-file" },
] as const;

/**
 * On a first install: each database in the cluster, or your own by its URL and password (its CA
 * bundle comes from its flag). A re-run keeps what the install has: moving data is not built.
 */
export function ownDatabaseQuestions({ open, recorded }: Asking): Question[] {
  if (recorded.domain !== undefined) return [];
  return OWN_DATABASES.filter((d) => open(d.key)).flatMap((d): Question[] => [
    {
      kind: "select",
      key: d.key,
      message: `${d.what}: run it in the cluster, or use your own?`,
      choices: [
        { name: "in the cluster (a StatefulSet with a volume)", value: "" },
        { name: `my own (a managed ${d.what}; its URL next)`, value: "own" },
      ],
      default: "",
      note: `For your own ${d.what} (a managed one), its URL (${d.example}) and password are asked next; a CA bundle for its TLS comes from ${d.ca}.`,
      followUp: {
        when: "own",
        question: {
          kind: "input",
          key: d.key,
          message: `${d.what} URL, without its password`,
          answerRoom: 60,
          validate: asPrompt((v) => (v === "" ? d.example : spec(d.key).validate(v))),
        },
      },
    },
    ...(open(d.password)
      ? [
          {
            kind: "secret" as const,
            key: d.password,
            message: d.what === "Redis" ? "Your Redis's password" : "Password of your PostgreSQL's user",
            generatable: false,
            askIf: (answered: (key: FieldKey) => string | undefined) => Boolean(answered(d.key)),
            validate: (v: string) => (v ? true : `Allowed: the password (kept only in the namespace's Secret)`),
          },
        ]
      : []),
  ]);
}
