/**
 * The PostgreSQL connections the engine drives itself: a `pg` pool for its hot statements, prepared and
 * planned once per connection; a second pool behind `@effect/sql-pg`'s `PgClient` (the `SqlClient` users
 * and transactional activities share); and a LISTEN connection that fails loudly.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"
import * as Stream from "effect/Stream"
import Pg from "pg"
import { PgDriver, type Prepared, type Service } from "./internal/driver.js"
import { STATEMENT_SESSION } from "./internal/pgStatements.js"

/** The driver's tag and its service, defined apart from `pg` (the store looks the tag up without loading `pg`). */
export { PgDriver, type Prepared, type Service }

/** Connection options of the driver. */
export interface Options {
  readonly url: string
  /**
   * Connections of the two pools in all, half each (the engine's statements; `SqlClient`), at least one
   * each. Default 10. A pool opens connections as they are needed and closes those idle for 10 s.
   */
  readonly maxConnections?: number | undefined
  /**
   * How long a statement on the driver's own connection (the heartbeat) may take before the connection
   * is given up and opened anew. Default 5,000 ms; `PgEngine.layer` uses half the lease.
   */
  readonly ownQueryTimeoutMs?: number | undefined
  /**
   * How long one of the engine's statements may go unanswered before its connection is given up (closed,
   * and the statement failed as `StoreUnavailable`): a connection that went silent must not hold the writes
   * queued behind it. Default 10,000 ms. It bounds every engine statement outside a transaction, inspection
   * reads (`list`, `detail`) and signals included: a signal that times out waiting on a row lock may still
   * commit, and its retry reports it already applied. `SqlClient`'s pool (transactions, your queries) has none.
   */
  readonly queryTimeoutMs?: number | undefined
}

/**
 * The engine's pool and `@effect/sql-pg`'s `PgClient` over a pool of its own: the engine's connections pin
 * their plans (`STATEMENT_SESSION`), which must not reach the user's queries.
 */
export const layer = (
  options: Options
): Layer.Layer<PgDriver | PgClient.PgClient | SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const total = options.maxConnections ?? 10
      const half = Math.max(1, Math.ceil(total / 2))
      const [statements, client] = yield* Effect.all(
        [
          acquirePool(options.url, half, "weft", { options: STATEMENT_SESSION, query_timeout: options.queryTimeoutMs ?? 10_000 }),
          acquireClient(options.url, Math.max(1, total - half))
        ],
        { concurrency: 2 }
      )
      const driver = yield* make(statements, options)
      return Context.make(PgDriver, driver).pipe(
        Context.add(PgClient.PgClient, client),
        Context.add(SqlClient.SqlClient, client)
      )
    })
  ).pipe(Layer.provide(Reactivity.layer))

const acquirePool = (url: string, max: number, applicationName: string, config: Pg.PoolConfig) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        // No wait limit for a free connection (as PgClient's own pool): a busy pool queues, it does not fail.
        const pool = new Pg.Pool({
          connectionString: url,
          max,
          application_name: applicationName,
          keepAlive: true,
          keepAliveInitialDelayMillis: KEEPALIVE_MS,
          ...config
        })
        // A pooled connection that dies is dropped by the pool; its error must not crash the process.
        pool.on("error", () => undefined)
        return pool
      },
      catch: (cause) => failed(cause, CONNECT_FAILED, "connect")
    }),
    // Interruptible, or the timeout could not stop it (a finalizer is not): a connection whose server went
    // silent would hold the shutdown forever. What has not ended by then is cut.
    (pool) =>
      Effect.promise(() => pool.end().catch(() => undefined)).pipe(
        Effect.interruptible,
        Effect.timeoutOption(CLOSE_TIMEOUT_MS),
        Effect.tap((ended) =>
          Option.isNone(ended)
            ? Effect.sync(() => {
                for (const client of (pool as unknown as { _clients?: Array<Pg.Client> })._clients ?? []) cutStream(client)
              })
            : Effect.void
        )
      )
  ).pipe(
    Effect.tap((pool) =>
      connected(
        Effect.tryPromise({
          try: () => pool.query("SELECT 1"),
          catch: (cause) => failed(cause, CONNECT_FAILED, "connect")
        })
      )
    )
  )

/**
 * `PgClient` over a pool of its own, as the `pg` pool it replaces: connections opened as needed, kept alive
 * by TCP probes, closed after 10 s idle, no wait limit for a free one; reached once before it is handed out.
 * Its pool keeps time by the system clock, as `pg`'s timers did: a `TestClock` moved on by days must not age
 * connections, nor spin the idle reaper once per 10 s of the days skipped.
 */
const acquireClient = (url: string, maxConnections: number) =>
  PgClient.make({
    url: Redacted.make(url),
    maxConnections,
    applicationName: "weft-sql",
    keepAlive: KEEPALIVE_MS,
    idleTimeout: IDLE_MS,
    connectTimeout: CONNECT_TIMEOUT_MS
  }).pipe(
    Effect.provideService(Clock.Clock, Clock.Clock.defaultValue()),
    Effect.tap((client) =>
      connected(Effect.mapError(client`SELECT 1`, (error) => failed(error.reason.cause, CONNECT_FAILED, "connect")))
    )
  )

/** A first statement, bounded: an address that never answers fails the start instead of holding it. */
const connected = <A>(probe: Effect.Effect<A, SqlError.SqlError>) =>
  Effect.timeoutOrElse(probe, {
    duration: CONNECT_TIMEOUT_MS,
    orElse: () => Effect.fail(failed(new Error("Connection timed out"), CONNECT_FAILED, "connect"))
  })

const CONNECT_TIMEOUT_MS = 5_000
const CONNECT_FAILED = "Failed to connect"
// TCP keep-alive after 10 s idle (the OS default is 2 hours): a connection a NAT dropped is found out.
const KEEPALIVE_MS = 10_000
// `pg`'s default: an idle pooled connection is closed after 10 s.
const IDLE_MS = 10_000

/**
 * A driver error as a `SqlError`, its reason after the SQLSTATE the server sent; an error without one
 * (a lost or silent connection, a timeout) is a `ConnectionError`.
 */
const failed = (cause: unknown, message = "Failed to execute statement", operation = "execute") => {
  const props = { cause, message, operation }
  const code = (cause as { code?: unknown } | undefined)?.code
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return new SqlError.SqlError({ reason: new SqlError.ConnectionError(props) })
  const constraint = (cause as { constraint?: unknown }).constraint
  const reason =
    code === "23505"
      ? new SqlError.UniqueViolation({ ...props, constraint: typeof constraint === "string" && constraint !== "" ? constraint : "unknown" })
      : code === "40P01"
      ? new SqlError.DeadlockError(props)
      : code === "40001"
      ? new SqlError.SerializationError(props)
      : code === "55P03"
      ? new SqlError.LockTimeoutError(props)
      : code === "57014"
      ? new SqlError.StatementTimeoutError(props)
      : code === "42501"
      ? new SqlError.AuthorizationError(props)
      : code.startsWith("08")
      ? new SqlError.ConnectionError(props)
      : code.startsWith("28")
      ? new SqlError.AuthenticationError(props)
      : code.startsWith("23")
      ? new SqlError.ConstraintError(props)
      : code.startsWith("42")
      ? new SqlError.SqlSyntaxError(props)
      : new SqlError.UnknownError(props)
  return new SqlError.SqlError({ reason })
}

const make = (pool: Pg.Pool, options: Options): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const own = yield* Effect.acquireRelease(
      Effect.sync(() => ownConnection(options.url, options.ownQueryTimeoutMs ?? 5_000)),
      (own) => Effect.promise(own.close)
    )
    const run = (client: Pg.Pool | Pg.Client, statement: Prepared | string, values: ReadonlyArray<unknown>) =>
      new Promise<ReadonlyArray<any>>((resolve, reject) =>
        client.query(
          typeof statement === "string"
            ? { text: statement, values: values as Array<unknown> }
            : { name: statement.name, text: statement.text, values: values as Array<unknown> },
          (error, result) => (error ? reject(error) : resolve(result.rows))
        )
      )
    // Uninterruptible, as documented: a statement once sent is awaited, never abandoned half-way.
    const query = (statement: Prepared | string, values: ReadonlyArray<unknown>, on: () => Promise<Pg.Pool | Pg.Client>) =>
      Effect.uninterruptible(
        Effect.tryPromise({ try: () => on().then((client) => run(client, statement, values)), catch: (cause) => failed(cause) })
      )
    return {
      query: (statement, values) => query(statement, values, () => Promise.resolve(pool)),
      queryText: (text, values) => query(text, values, () => Promise.resolve(pool)),
      queryOwn: (statement, values) =>
        Effect.tapError(query(statement, values, own.get), (error) =>
          // Not an error of the statement (those carry a SQLSTATE): the connection is suspect, open another.
          (error.reason.cause as { code?: unknown } | undefined)?.code === undefined ? Effect.promise(own.drop) : Effect.void
        ),
      listen: listenOn(options.url)
    } satisfies Service
  })

/** One connection, opened on first use and again after it is lost or dropped. */
const ownConnection = (url: string, queryTimeoutMs: number) => {
  let current: Promise<Pg.Client> | undefined
  let closed = false
  const open = (): Promise<Pg.Client> => {
    const client = new Pg.Client({
      connectionString: url,
      application_name: "weft-own",
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_MS,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: queryTimeoutMs,
      options: STATEMENT_SESSION
    })
    const opening: Promise<Pg.Client> = (async () => {
      const lost = () => {
        if (current === opening) current = undefined
        void close(client)
      }
      client.on("error", lost)
      client.on("end", lost)
      try {
        await client.connect()
        return client
      } catch (cause) {
        lost()
        throw cause
      }
    })()
    current = opening
    return opening
  }
  const drop = async (): Promise<void> => {
    const client = await current?.catch(() => undefined)
    current = undefined
    if (client !== undefined) await close(client)
  }
  return {
    get: (): Promise<Pg.Client> => (closed ? Promise.reject(new Error("The driver is closed")) : current ?? open()),
    drop,
    close: (): Promise<void> => {
      closed = true
      return drop()
    }
  }
}

/**
 * LISTEN on a connection of its own (`weft-listen`, outside both pools: it is held for the engine's life) that
 * fails the stream when the connection is lost, so the store listens again on a new one.
 */
const listenOn = (url: string) => (channel: string): Stream.Stream<string, SqlError.SqlError> =>
  // The queue is unbounded: a dropped notification would be a lost wake-up.
  Stream.callback<string, SqlError.SqlError>((queue) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new Pg.Client({ connectionString: url, application_name: "weft-listen" })
          const lost = (cause: unknown) =>
            void Queue.failCauseUnsafe(queue, Cause.fail(failed(cause, "The LISTEN connection was lost", "listen")))
          client.on("error", lost)
          client.on("end", () => lost(new Error("The connection ended")))
          client.on("notification", (message) => {
            if (message.channel === channel && message.payload !== undefined) Queue.offerUnsafe(queue, message.payload)
          })
          try {
            await client.connect()
            await client.query(`LISTEN ${Pg.escapeIdentifier(channel)}`)
          } catch (cause) {
            await close(client)
            throw cause
          }
          return client
        },
        catch: (cause) => failed(cause, "Failed to listen", "listen")
      }),
      (client) => Effect.promise(() => close(client))
    )
  )

/** Ends a connection; one whose server no longer answers is cut after a second, not waited on. */
const close = (client: Pg.Client): Promise<void> => {
  client.removeAllListeners()
  client.on("error", () => undefined)
  let timer: ReturnType<typeof setTimeout> | undefined
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      cutStream(client)
      resolve()
    }, CLOSE_TIMEOUT_MS)
  })
  return Promise.race([client.end().catch(() => undefined), cut]).finally(() => clearTimeout(timer))
}

const CLOSE_TIMEOUT_MS = 1_000

/** Destroys a connection's socket: `pg` has no other way to drop one that does not answer. */
const cutStream = (client: Pg.Client): void =>
  (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.()
