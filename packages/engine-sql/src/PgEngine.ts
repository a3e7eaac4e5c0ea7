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
import { buildOrFail, isTransient, redactUrl, unavailable } from "./internal/build.js"
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
    unavailable(`PostgreSQL at ${redactUrl(url)}`),
    options.connectRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(5)]),
    isTransient
  )
  return SqlEngine.layer(rest).pipe(Layer.provideMerge(driver))
}

/**
 * The error for a URL the drivers could never connect with (not a URL, not `postgres:`, a bad port, percent-encoding
 * or parameter), else undefined: it fails the layer at once, where a connection attempt would be tried again.
 */
const malformedUrl = (url: string): WorkflowError.WorkflowError | undefined => {
  const problem = urlProblem(url)
  if (problem === undefined) return undefined
  return new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    field: "url",
    expected: "postgres://user:password@host:port/database",
    message: `Could not open PostgreSQL: malformed URL "${redactUrl(url)}": ${problem} ` +
      `(expected postgres://user:password@host:port/database)`
  })
}

/** What makes `url` unusable, in words (never quoting a password), as the drivers parse it; else undefined. */
const urlProblem = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url.trim() === "" ? "it is empty" : "it is not a URL (a bad host, port or character?)"
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return `the scheme is "${parsed.protocol.slice(0, 20)}", not postgres: or postgresql:`
  }
  const parts = [["user name", parsed.username], ["password", parsed.password], ["database", parsed.pathname]]
  if (!parsed.hostname.startsWith("[")) parts.push(["host", parsed.hostname])
  for (const [what, part] of parts) {
    try {
      decodeURIComponent(part!)
    } catch {
      return `the ${what} has a bad percent-encoding (a % not followed by two hex digits)`
    }
  }
  if (parsed.port === "0") return "the port is 0 (expected 1 to 65535)"
  for (const [key, value] of parsed.searchParams) {
    if (key === "port" && !(/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535)) {
      return "the port parameter is not a port (1 to 65535)"
    }
    if (key === "connect_timeout" && !/^\d+$/.test(value)) {
      return "connect_timeout is not a whole number of seconds"
    }
    if (key === "sslmode" && !SSL_MODES.has(value)) {
      return `sslmode "${value.slice(0, 20)}" is not one of ${[...SSL_MODES].join(", ")}`
    }
  }
  return undefined
}

/** The `sslmode` values the drivers accept. */
const SSL_MODES: ReadonlySet<string> = new Set(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
