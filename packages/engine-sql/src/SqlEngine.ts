/**
 * Durable engines over SQL: `layerSqlite` (the embedded default, one file) and `layerPg` (many
 * workers on many machines), or `layer` over any Effect SQL client (`effect/sql/SqlClient`) you provide.
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as SqlClient from "effect/sql/SqlClient"
import { WorkflowEngine, WorkflowError, type WorkflowStore } from "@weft/workflow"
import * as PgDriver from "./PgDriver.js"
import * as SqliteClient from "./SqliteClient.js"
import * as SqlStore from "./SqlStore.js"

/** Options of the SQL engines: the engine's and the store's. */
export interface Options extends WorkflowEngine.Options, SqlStore.Options {}

type Out = WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore

const unavailable = (what: string) => (error: unknown) =>
  new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    message: `Could not open ${what}: ${error instanceof Error ? error.message : String(error)}`
  })

/** The engine over the `SqlClient` in context; claims renew every third of the lease, and the store is polled each second. */
export const layer = (options: Options = {}): Layer.Layer<Out, WorkflowError.WorkflowError, SqlClient.SqlClient> => {
  const leaseMs = options.leaseMs ?? 5_000
  return WorkflowEngine.layer({
    heartbeatMs: Math.max(50, Math.floor(leaseMs / 3)),
    pollIntervalMs: 1_000,
    ...options
  }).pipe(Layer.provideMerge(SqlStore.layer(options)))
}

/**
 * The embedded default: one SQLite file (its folder is created), opened by Weft's `SqliteClient` (WAL,
 * a 5 s busy timeout). Signals from other processes are seen by polling.
 *
 * @example
 * const EngineLive = SqlEngine.layerSqlite({ filename: ".weft/weft.db" })
 */
export const layerSqlite = (
  options: Options & { readonly filename: string }
): Layer.Layer<Out | SqlClient.SqlClient, WorkflowError.WorkflowError> => {
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
  return layer({ pollIntervalMs: 250, ...rest }).pipe(Layer.provideMerge(client))
}

/**
 * PostgreSQL for many workers: wake-ups arrive by LISTEN/NOTIFY, with polling as the fallback.
 * An unreachable database is retried by `connectRetry` (default 5 tries), then fails with
 * `StoreUnavailable`.
 *
 * @example
 * const EngineLive = SqlEngine.layerPg({ url: "postgres://postgres@127.0.0.1:5432/app" })
 */
export const layerPg = (
  options: Options & Pick<PgDriver.Options, "url" | "maxConnections" | "queryTimeoutMs">
): Layer.Layer<Out | SqlClient.SqlClient | PgClient.PgClient | PgDriver.PgDriver, WorkflowError.WorkflowError> => {
  const { maxConnections, queryTimeoutMs, url, ...rest } = options
  // A heartbeat stuck for half a lease is given up, so the next one goes out on a new connection in time.
  const ownQueryTimeoutMs = Math.ceil((options.leaseMs ?? 5_000) / 2)
  const driver = buildOrFail(
    PgDriver.layer({ url, maxConnections, queryTimeoutMs, ownQueryTimeoutMs }),
    unavailable(`PostgreSQL at ${redact(url)}`),
    options.connectRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(5)])
  )
  return layer(rest).pipe(Layer.provideMerge(driver))
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")

/**
 * `self`, built again by `schedule` (if any) while it fails, then failing with `onError`. Each try builds in
 * a scope of its own, closed when that try fails: a pool opened before the failure does not outlive it.
 */
const buildOrFail = <A, E, E2>(
  self: Layer.Layer<A, E>,
  onError: (error: E) => E2,
  schedule?: Schedule.Schedule<unknown, unknown>
): Layer.Layer<A, E2> => {
  const once = Effect.flatMap(Effect.scope, (outer) =>
    Effect.flatMap(Scope.fork(outer), (scope) =>
      Effect.onExit(Layer.buildWithScope(self, scope), (exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
    )
  )
  return Layer.effectContext(Effect.mapError(schedule === undefined ? once : Effect.retry(once, schedule), onError))
}
