/**
 * PostgreSQL for many workers on many machines: the durable engine over Weft's `PgDriver`, woken by
 * LISTEN/NOTIFY with polling as the fallback. From `@weft/engine-sql/pg`, which never loads `better-sqlite3`.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as SqlClient from "effect/sql/SqlClient"
import type { WorkflowEngine, WorkflowError, WorkflowStore } from "@weft/workflow"
import { buildOrFail, unavailable } from "./internal/build.js"
import * as PgDriver from "./PgDriver.js"
import * as SqlEngine from "./SqlEngine.js"

/** Options of the PostgreSQL engine: the connection, and the engine's and the store's options. */
export interface Options
  extends SqlEngine.Options, Pick<PgDriver.Options, "url" | "maxConnections" | "queryTimeoutMs">
{}

/**
 * The engine on PostgreSQL, with its `SqlClient` (a `PgClient`) for your own queries and transactional
 * activities. An unreachable database is retried by `connectRetry` (default 5 tries), then fails with
 * `StoreUnavailable`.
 *
 * @example
 * const EngineLive = PgEngine.layer({ url: "postgres://postgres@127.0.0.1:5432/app" })
 */
export const layer = (
  options: Options
): Layer.Layer<
  | WorkflowEngine.WorkflowEngine
  | WorkflowStore.WorkflowStore
  | SqlClient.SqlClient
  | PgClient.PgClient
  | PgDriver.PgDriver,
  WorkflowError.WorkflowError
> => {
  const { maxConnections, queryTimeoutMs, url, ...rest } = options
  // A heartbeat stuck for half a lease is given up, so the next one goes out on a new connection in time.
  const ownQueryTimeoutMs = Math.ceil((options.leaseMs ?? 5_000) / 2)
  const driver = buildOrFail(
    PgDriver.layer({ url, maxConnections, queryTimeoutMs, ownQueryTimeoutMs }),
    unavailable(`PostgreSQL at ${redact(url)}`),
    options.connectRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(5)])
  )
  return SqlEngine.layer(rest).pipe(Layer.provideMerge(driver))
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")
