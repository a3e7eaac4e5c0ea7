/**
 * The durable engine over any Effect SQL client (`effect/sql/SqlClient`) you provide. For a ready connection,
 * `SqliteEngine` (`@weft/engine-sql/sqlite`, one file) and `PgEngine` (`@weft/engine-sql/pg`, many workers).
 */
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import { WorkflowEngine, type WorkflowError, type WorkflowStore } from "@weft/workflow"
import * as SqlStore from "./SqlStore.js"

/** Options of the SQL engines: the engine's and the store's. */
export interface Options extends WorkflowEngine.Options, SqlStore.Options {}

/**
 * The engine over the `SqlClient` in context; claims renew every third of the lease, and the store is polled
 * each second.
 *
 * @example
 * // Any SqlClient: here Weft's own SQLite client, as `SqliteEngine.layer` builds it.
 * const EngineLive = SqlEngine.layer({ leaseMs: 5_000 }).pipe(
 *   Layer.provideMerge(SqliteClient.layer({ filename: "app.db" }))
 * )
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore,
  WorkflowError.WorkflowError,
  SqlClient.SqlClient
> => {
  const leaseMs = options.leaseMs ?? 5_000
  return WorkflowEngine.layer({
    heartbeatMs: Math.max(50, Math.floor(leaseMs / 3)),
    pollIntervalMs: 1_000,
    ...options
  }).pipe(Layer.provideMerge(SqlStore.layer(options)))
}
