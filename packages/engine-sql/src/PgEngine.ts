/**
 * PostgreSQL for many workers on many machines: the durable engine over Weft's `PgDriver`, woken by
 * LISTEN/NOTIFY with polling as the fallback. From `@weft/engine-sql/pg`, which never loads `better-sqlite3`.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as SqlClient from "effect/sql/SqlClient"
import { type WorkflowEngine, WorkflowError, type WorkflowStore } from "@weft/workflow"
import { buildOrFail, isTransient, redactUrls, unavailable } from "./internal/build.js"
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
  const malformed = malformedUrl(url)
  if (malformed !== undefined) return Layer.unwrap(Effect.fail(malformed))
  // A missing host or database, or bad credentials, fail at once: trying again would only delay the cause.
  const driver = buildOrFail(
    PgDriver.layer({ url, maxConnections, queryTimeoutMs, ownQueryTimeoutMs }),
    unavailable(`PostgreSQL at ${redactUrls(url)}`),
    options.connectRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(5)]),
    isTransient
  )
  return SqlEngine.layer(rest).pipe(Layer.provideMerge(driver))
}

/** The error for a URL that is not a PostgreSQL URL (which `pg` would read as a host name), else undefined. */
const malformedUrl = (url: string): WorkflowError.WorkflowError | undefined => {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    protocol = ""
  }
  if (protocol === "postgres:" || protocol === "postgresql:") return undefined
  return new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    field: "url",
    expected: "postgres://user:password@host:port/database",
    message: `Could not open PostgreSQL: malformed URL "${redactUrls(url)}" (expected postgres://user:password@host:port/database)`
  })
}
