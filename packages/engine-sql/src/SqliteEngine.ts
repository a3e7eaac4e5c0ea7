/**
 * The embedded default: the durable engine on one SQLite file, opened by Weft's `SqliteClient` (over
 * `better-sqlite3`). From `@weft/engine-sql/sqlite`, which never loads `pg`.
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import type { WorkflowEngine, WorkflowError, WorkflowStore } from "@weft/workflow"
import { buildOrFail, unavailable } from "./internal/build.js"
import * as SqlEngine from "./SqlEngine.js"
import * as SqliteClient from "./SqliteClient.js"

/** Options of the SQLite engine: the database file, and the engine's and the store's options. */
export interface Options extends SqlEngine.Options {
  /** The database file (its folder is created), or `":memory:"`. */
  readonly filename: string
}

/**
 * The engine on one SQLite file (WAL, a 5 s busy timeout), with its `SqlClient` for your own queries and
 * transactional activities. Signals from other processes are seen by polling, every 250 ms by default.
 *
 * @example
 * const EngineLive = SqliteEngine.layer({ filename: ".weft/weft.db" })
 */
export const layer = (
  options: Options
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore | SqlClient.SqlClient,
  WorkflowError.WorkflowError
> => {
  const { filename, ...rest } = options
  const client = buildOrFail(
    Layer.unwrap(
      Effect.sync(() => {
        if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true })
        return SqliteClient.layer({ filename })
      })
    ),
    unavailable(`SQLite database ${filename}`)
  )
  return SqlEngine.layer({ pollIntervalMs: 250, ...rest }).pipe(Layer.provideMerge(client))
}
