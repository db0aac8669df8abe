/** Recognizing SQLite constraint failures, as D1 reports them (in the message or its cause). */
export type Constraint = "UNIQUE" | "FOREIGN KEY" | "CHECK" | "PRIMARY KEY" | "NOT NULL";

/** True when `error` is a failure of one of the given constraint kinds. */
export function violates(error: unknown, ...kinds: Constraint[]): boolean {
  const e = error as { message?: unknown; cause?: { message?: unknown } } | undefined;
  const text = `${String(e?.message ?? error)} ${String(e?.cause?.message ?? "")}`;
  return kinds.some((kind) => text.includes(`${kind} constraint failed`));
}
