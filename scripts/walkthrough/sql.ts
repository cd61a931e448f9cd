import pg from "pg";

/**
 * Runs QUERY on the PostgreSQL at URL and returns what psql would print for it: the columns,
 * a rule, one line per row and "(N rows)"; or psql's "ERROR:  …" line. Values come as
 * PostgreSQL writes them as text (a timestamp, a bytea as \x…), not as JavaScript objects.
 */
export async function psql(url: string, query: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on("error", () => {}); // reported by connect() or query() below
  try {
    await client.connect();
    const result = await client.query({
      text: query,
      rowMode: "array",
      types: { getTypeParser: () => (value: string) => value },
    });
    return psqlTable(result);
  } catch (error) {
    return [`ERROR:  ${(error as Error).message}`];
  } finally {
    await client.end().catch(() => {});
  }
}

/** psql's aligned output of one result. */
export function psqlTable(result: pg.QueryArrayResult<unknown[]>): string[] {
  if (result.fields.length === 0) {
    // A command without rows: psql prints its tag ("INSERT 0 1", "UPDATE 2", "DELETE 0").
    const count = result.command === "INSERT" ? `0 ${result.rowCount}` : `${result.rowCount ?? ""}`;
    return [`${result.command} ${count}`.trim()];
  }
  const cell = (value: unknown) => (value === null ? "" : String(value));
  const names = result.fields.map((field) => field.name);
  const widths = names.map((name, column) =>
    Math.max(name.length, ...result.rows.map((row) => cell(row[column]).length)),
  );
  const numeric = result.fields.map((field) => NUMBERS.has(field.dataTypeID));
  const line = (cells: string[], header = false) =>
    ` ${cells
      .map((text, column) =>
        !header && numeric[column]
          ? text.padStart(widths[column] ?? 0)
          : text.padEnd(widths[column] ?? 0),
      )
      .join(" | ")}`.trimEnd();
  const rows = result.rows.length;
  return [
    line(
      names.map((name, column) => center(name, widths[column] ?? 0)),
      true,
    ),
    widths.map((width) => "-".repeat(width + 2)).join("+"),
    ...result.rows.map((row) => line(row.map(cell))),
    `(${rows} ${rows === 1 ? "row" : "rows"})`,
  ];
}

/** Type ids of int8, int2, int4, oid, float4, float8, numeric: psql aligns them right. */
const NUMBERS = new Set([20, 21, 23, 26, 700, 701, 1700]);

/** psql centres column names. */
function center(text: string, width: number): string {
  const left = Math.floor((width - text.length) / 2);
  return " ".repeat(left) + text;
}
