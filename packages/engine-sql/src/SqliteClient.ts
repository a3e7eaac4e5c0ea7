/**
 * SQLite for Weft: an Effect `SqlClient` (sqlite dialect) over one `better-sqlite3` connection, in WAL mode,
 * with a busy timeout and a cache of prepared statements. A transaction holds the connection until it ends.
 */
import { closeSync, fchmodSync, openSync } from "node:fs"
import Sqlite from "better-sqlite3"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Reactivity from "effect/reactivity/Reactivity"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlConnection from "effect/sql/SqlConnection"
import * as SqlError from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import * as Stream from "effect/Stream"

/** How to open the database. */
export interface Config {
  /**
   * The database file (its folder must exist), or `":memory:"`. A file this client creates gets mode 0600 (owner
   * only: it holds payloads and, without a configured key, the key that signs tokens); an existing one keeps its own.
   */
  readonly filename: string
  /** Opens the file read-only. Default false. */
  readonly readonly?: boolean | undefined
  /** How many prepared statements are kept, least recently used dropped first. Default 200. */
  readonly prepareCacheSize?: number | undefined
  /** How long a prepared statement is kept after it was prepared. Default 10 minutes. */
  readonly prepareCacheTTL?: Duration.Input | undefined
  /** Keeps SQLite's rollback journal instead of switching the file to WAL. Default false. */
  readonly disableWAL?: boolean | undefined
  /** How long a statement waits for another process's lock on the file before it fails. Default 5 seconds. */
  readonly busyTimeout?: Duration.Input | undefined
  /** Attributes added to every statement's span. */
  readonly spanAttributes?: Record<string, unknown> | undefined
  /** Renames result columns (say, snake_case to camelCase). */
  readonly transformResultNames?: ((str: string) => string) | undefined
  /** Renames identifiers in statements (say, camelCase to snake_case). */
  readonly transformQueryNames?: ((str: string) => string) | undefined
}

/** The client: a `SqlClient` on the sqlite dialect, plus what only SQLite offers. */
export interface Service extends SqlClient.SqlClient {
  readonly config: Config
  /** The whole database as bytes (`sqlite3_serialize`). */
  readonly export: Effect.Effect<Uint8Array, SqlError.SqlError>
  /** Copies the database to `destination` while it stays in use. */
  readonly backup: (destination: string) => Effect.Effect<BackupMetadata, SqlError.SqlError>
  /** Not supported in SQLite. */
  readonly updateValues: never
}

/** What a finished backup reports. */
export interface BackupMetadata {
  readonly totalPages: number
  readonly remainingPages: number
}

/** The SQLite client, present beside `SqlClient` when built by `layer`. */
export class SqliteClient extends Context.Service<SqliteClient, Service>()("@weft/engine-sql/SqliteClient") {}

/**
 * Opens the database and builds the client; the connection closes with the scope.
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const sql = yield* SqliteClient.make({ filename: ":memory:" })
 *   return yield* sql`SELECT 1 AS one`
 * }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))
 */
export const make = (
  config: Config
): Effect.Effect<Service, SqlError.SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(open(config), (db) => Effect.sync(() => db.close()))
    const clock = yield* Clock.Clock
    const connection = makeConnection(db, config, clock)
    // One connection for every fiber: a statement waits while a transaction (on another fiber) holds it.
    const semaphore = yield* Semaphore.make(1)
    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore,
      isTransaction: () => db.inTransaction
    })
    const client = yield* SqlClient.make({
      acquirer: acquirers.acquirer,
      borrower: acquirers.borrower,
      transactionAcquirer: acquirers.transactionAcquirer,
      onCommitFailure: acquirers.onCommitFailure,
      isTransaction: acquirers.isTransaction,
      releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`,
      // SQLite prepares BEGIN, COMMIT and SAVEPOINT like any statement: they come from the cache.
      prepareTransactionControls: true,
      compiler: Statement.makeCompilerSqlite(config.transformQueryNames),
      driver: "weft-sqlite",
      spanAttributes: [...Object.entries(config.spanAttributes ?? {}), ["db.system.name", "sqlite"]],
      transformRows: config.transformResultNames === undefined
        ? undefined
        : Statement.defaultTransforms(config.transformResultNames).array
    })
    const withConnection = <A>(f: (conn: SqliteConnection) => Effect.Effect<A, SqlError.SqlError>) =>
      Effect.scoped(Effect.flatMap(acquirers.acquirer, f))
    return Object.assign(client, {
      config,
      export: withConnection((conn) => conn.export),
      backup: (destination: string) => withConnection((conn) => conn.backup(destination))
    }) as Service
  })

/** `SqliteClient` and `SqlClient` over one database, opened when the layer is built. */
export const layer = (config: Config): Layer.Layer<SqliteClient | SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.effectContext(
    Effect.map(make(config), (client) => Context.make(SqliteClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  ).pipe(Layer.provide(Reactivity.layer))

interface SqliteConnection extends SqlConnection.Connection {
  readonly export: Effect.Effect<Uint8Array, SqlError.SqlError>
  readonly backup: (destination: string) => Effect.Effect<BackupMetadata, SqlError.SqlError>
}

const failure = (cause: unknown, message: string, operation: string) =>
  new SqlError.SqlError({ reason: SqlError.classifySqliteError(cause, { message, operation }) })

const open = (config: Config) =>
  Effect.try({
    try: () => {
      if (config.readonly !== true) createPrivate(config.filename)
      const db = new Sqlite(config.filename, {
        readonly: config.readonly ?? false,
        timeout: Duration.toMillis(Duration.fromInputUnsafe(config.busyTimeout ?? "5 seconds"))
      })
      try {
        if (config.disableWAL !== true && config.readonly !== true) db.pragma("journal_mode = WAL")
      } catch (cause) {
        db.close()
        throw cause
      }
      return db
    },
    catch: (cause) => {
      const message = `Failed to open ${config.filename}`
      const reason = SqlError.classifySqliteError(cause, { message, operation: "open" })
      // A file that cannot be opened (a missing folder, say) is a connection that failed, whatever the code.
      return new SqlError.SqlError({
        reason: reason._tag === "UnknownError" ? new SqlError.ConnectionError({ cause, message, operation: "open" }) : reason
      })
    }
  })

/**
 * Creates the database file, empty and readable by its owner only, unless it exists: SQLite would create it with
 * the process's umask (world-readable, as a rule), and its WAL and shared-memory files take the file's mode.
 */
const createPrivate = (filename: string): void => {
  // Not a file: an in-memory or temporary database, or a URI.
  if (filename === "" || filename === ":memory:" || filename.startsWith("file:")) return
  let fd: number
  try {
    fd = openSync(filename, "wx", 0o600)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "EEXIST") return
    throw cause
  }
  try {
    // The umask may have taken bits off the mode asked for; only this new file is changed.
    fchmodSync(fd, 0o600)
  } finally {
    closeSync(fd)
  }
}

/** Recently prepared statements, by text: least recently used dropped first, each kept up to `ttl` after preparing. */
const statementCache = (db: Sqlite.Database, config: Config, clock: Clock.Clock) => {
  const capacity = config.prepareCacheSize ?? 200
  const ttl = Duration.toMillis(Duration.fromInputUnsafe(config.prepareCacheTTL ?? "10 minutes"))
  const entries = new Map<string, { readonly statement: Sqlite.Statement; readonly preparedAt: number }>()
  return (sql: string): Sqlite.Statement => {
    const now = clock.currentTimeMillisUnsafe()
    const found = entries.get(sql)
    entries.delete(sql)
    if (found !== undefined && now - found.preparedAt < ttl) {
      entries.set(sql, found)
      return found.statement
    }
    const statement = db.prepare(sql)
    if (capacity <= 0) return statement
    entries.set(sql, { statement, preparedAt: now })
    if (entries.size > capacity) entries.delete(entries.keys().next().value!)
    return statement
  }
}

const makeConnection = (db: Sqlite.Database, config: Config, clock: Clock.Clock): SqliteConnection => {
  const prepare = statementCache(db, config, clock)

  /** Prepares (through the cache, or not) and runs a statement, synchronously: SQLite answers at once. */
  const run = <A>(
    sql: string,
    prepared: boolean,
    operation: string,
    f: (statement: Sqlite.Statement) => A
  ): Effect.Effect<A, SqlError.SqlError> =>
    Effect.withFiber((fiber) => {
      let statement: Sqlite.Statement
      try {
        statement = prepared ? prepare(sql) : db.prepare(sql)
      } catch (cause) {
        return Effect.fail(failure(cause, "Failed to prepare statement", operation))
      }
      try {
        statement.safeIntegers(fiber.getRef(SqlClient.SafeIntegers))
        return Effect.succeed(f(statement))
      } catch (cause) {
        return Effect.fail(failure(cause, "Failed to execute statement", operation))
      }
    })

  const rows = (statement: Sqlite.Statement, params: ReadonlyArray<unknown>): ReadonlyArray<any> => {
    if (statement.reader) return statement.all(...params)
    statement.run(...params)
    return []
  }

  const values = (statement: Sqlite.Statement, params: ReadonlyArray<unknown>): ReadonlyArray<ReadonlyArray<unknown>> => {
    if (!statement.reader) {
      statement.run(...params)
      return []
    }
    statement.raw(true)
    try {
      return statement.all(...params) as Array<Array<unknown>>
    } finally {
      statement.raw(false)
    }
  }

  const transformed = (
    effect: Effect.Effect<ReadonlyArray<any>, SqlError.SqlError>,
    transformRows: (<A extends object>(row: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
  ) => (transformRows === undefined ? effect : Effect.map(effect, transformRows))

  return {
    execute: (sql, params, transformRows) => transformed(run(sql, true, "execute", (s) => rows(s, params)), transformRows),
    executeUnprepared: (sql, params, transformRows) =>
      transformed(run(sql, false, "executeUnprepared", (s) => rows(s, params)), transformRows),
    executeRaw: (sql, params) =>
      run(sql, true, "executeRaw", (s) => (s.reader ? s.all(...params) : s.run(...params))),
    executeValues: (sql, params) => run(sql, true, "executeValues", (s) => values(s, params)),
    executeValuesUnprepared: (sql, params) => run(sql, false, "executeValuesUnprepared", (s) => values(s, params)),
    // better-sqlite3 cannot run another statement while an iterator is open: the rows are read at once.
    executeStream: (sql, params, transformRows) =>
      Stream.unwrap(
        Effect.map(transformed(run(sql, true, "executeStream", (s) => rows(s, params)), transformRows), Stream.fromIterable)
      ),
    export: Effect.try({
      try: () => new Uint8Array(db.serialize()),
      catch: (cause) => failure(cause, "Failed to export database", "export")
    }),
    backup: (destination) =>
      Effect.tryPromise({
        try: () => db.backup(destination),
        catch: (cause) => failure(cause, "Failed to backup database", "backup")
      })
  }
}
