/**
 * The engines the benchmark measures, each with its floor: the least a step can cost on that back-end.
 * Adding a back-end (a custom store) is one more entry in `engines`.
 *
 * - memory: the floor is a bare Effect step (look up, run, encode, store in a Map).
 * - sqlite: a temp file (not `:memory:`: a commit must reach the disk), with `@weft/engine-sql`'s
 *   SqliteClient and its pragmas (WAL, better-sqlite3's synchronous FULL). Floor: single-row INSERT commits on a temp file with
 *   the same client, one at a time (ms per commit) and from 50 fibers at once (commits/s; SQLite
 *   has one writer, so they queue on the client's one connection).
 * - postgres: a fresh database per run (`CREATE DATABASE weft_bench_<random>`, dropped after) on the
 *   server at `DATABASE_URL`, else postgres://postgres@127.0.0.1:5432/test; skipped with a note when
 *   neither answers (the bench never starts a server). Floor: a `pg` pool (the driver of the engine's own
 *   statements, `PgDriver`) doing single-row autocommit INSERTs into `(id bigserial, v text)` from one
 *   connection (ms per commit) and from 50 connections at once (commits/s).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Pg from "pg"
import { WorkflowEngine } from "@weft/workflow"

/**
 * How big each workload is on an engine. W1 is the core issue's everywhere (2,000 workflows x 10 at
 * concurrency 50: a shorter run measures mostly its ramp-up and drain); SQL engines run a smaller W4.
 */
export interface Sizes {
  readonly w1Workflows: number
  readonly w1Concurrency: number
  readonly w2Executions: number
  readonly w4Executions: number
  /** Executions W6's workers drain (PostgreSQL only). */
  readonly w6Executions: number
}

/** A fresh, empty store for one run. */
export interface Store {
  readonly layer: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>
  /** How a worker process reaches the same store (`sqlite:<file>` or `pg:<url>`), for SQL stores. */
  readonly spec: string | undefined
}

/** The floor's rates, per second: steps (or commits) one at a time, and many at once. */
export interface Floor {
  readonly serial: number
  readonly concurrent: number
}

/** One half of a floor: opens its clients in a scope and gives the run, which returns a rate per second. */
export interface FloorPart {
  readonly label: string
  readonly open: Effect.Effect<Effect.Effect<number, unknown>, unknown, Scope.Scope>
}

/** One floor measurement, on its own store. */
export interface FloorProbe {
  readonly serial: FloorPart
  /** None when the concurrent rate is the serial one (the in-memory floor). */
  readonly concurrent: FloorPart | undefined
  /** How the serial rate is shown: as steps per second, or as milliseconds per commit. */
  readonly serialAs: "perSecond" | "ms"
}

/** An engine the bench knows. */
export interface BenchEngine {
  readonly name: string
  /** Whether `npm run bench` measures it without `--engine=<name>` or `--engine=all`. */
  readonly byDefault: boolean
  /** Whether executions outlive the process (SQL): W5 and the statement counts apply. */
  readonly durable: boolean
  readonly sizes: Sizes
  /** Finds its database: the engine ready to measure, or why it cannot run here. */
  readonly open: Effect.Effect<Ready | string>
}

/** An engine whose database answers. */
export interface Ready extends BenchEngine {
  /** Where it runs, for the printout. */
  readonly where: string
  /** A fresh store for one run, removed when the scope closes. */
  readonly fresh: Effect.Effect<Store, unknown, Scope.Scope>
  /** The floor on the same back-end and settings, with its own fresh database. */
  readonly floor: Effect.Effect<FloorProbe, unknown, Scope.Scope>
}

/** Connections the PostgreSQL engine's pool may open (`--pg-connections=N`). */
export const pgConnections = (): number => {
  const flag = process.argv.find((arg) => arg.startsWith("--pg-connections="))
  return flag === undefined ? 20 : Number(flag.slice("--pg-connections=".length))
}

const memorySizes: Sizes = {
  w1Workflows: 2_000,
  w1Concurrency: 50,
  w2Executions: 200,
  w4Executions: 10_000,
  w6Executions: 0
}

const sqlSizes: Sizes = {
  w1Workflows: 2_000,
  w1Concurrency: 50,
  w2Executions: 200,
  w4Executions: 2_000,
  w6Executions: 2_000
}

/** Milliseconds from a monotonic clock. */
export const now: Effect.Effect<number> = Effect.sync(() => performance.now())

// Loaded on first use, so a change in progress in the SQL package cannot break the in-memory run.
export const sqliteEngine = Effect.promise(() => import("@weft/engine-sql/sqlite"))
export const pgEngine = Effect.promise(() => import("@weft/engine-sql/pg"))

// ---------------------------------------------------------------------------------------------
// The in-memory floor

/** Steps the in-memory floor takes per run: as many as the in-memory W1's activities. */
export const FLOOR_STEPS = 20_000

// The runtime's own path for a success: the value through its precompiled schema encoder, in the stored shape.
const floorEncodeValue = Schema.encodeResult(Schema.Number)
const floorEncode = (exit: Exit.Exit<number>): Result.Result<unknown, Schema.SchemaError> =>
  Exit.isSuccess(exit) ? Result.map(floorEncodeValue(exit.value), (value) => ({ _tag: "Success", value })) : Result.succeed(exit)
const floorNames = Array.from({ length: FLOOR_STEPS }, (_, i) => `step-${i}`)

/**
 * The least a journaled step can cost in Effect. Per step it looks the name up in a map, runs an
 * `Effect.succeed`, encodes the Exit's value with a precompiled schema encoder (as the runtime stores a success)
 * and stores it in a Map. Returns steps per second.
 */
export const memoryFloor: Effect.Effect<number> = Effect.gen(function* () {
  const journal = new Map<string, unknown>()
  const start = yield* now
  yield* Effect.forEach(
    floorNames,
    (name, i) =>
      Effect.flatMap(Effect.sync(() => journal.get(name)), (stored) =>
        stored !== undefined
          ? Effect.void
          : Effect.map(Effect.succeed(i), (value) => {
            journal.set(name, Result.getOrThrow(floorEncode(Exit.succeed(value))))
          })),
    { discard: true }
  )
  const seconds = ((yield* now) - start) / 1_000
  return FLOOR_STEPS / seconds
})

// ---------------------------------------------------------------------------------------------
// The SQL floors: single-row INSERT commits through the engine's own driver

/** How long one floor run inserts for. */
const FLOOR_MS = 250
/** How many clients commit at once in the concurrent floor. */
export const FLOOR_CLIENTS = 50

/** One single-row INSERT into `bench_floor`, committed on its own. */
type Insert = Effect.Effect<unknown, unknown>

const sqlInsert = (sql: SqlClient.SqlClient): Insert => Effect.suspend(() => sql`INSERT INTO bench_floor (v) VALUES (${"x"})`)

/** Single-row INSERT commits, one after another, for `FLOOR_MS`: commits per second. */
const serialInserts = (insert: Insert): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    const start = yield* now
    let commits = 0
    let elapsed = 0
    while (elapsed < FLOOR_MS || commits < 50) {
      yield* insert
      commits++
      elapsed = (yield* now) - start
    }
    return commits / (elapsed / 1_000)
  })

/** `FLOOR_CLIENTS` fibers each committing single-row INSERTs for `FLOOR_MS`: commits per second. */
const concurrentInserts = (insert: Insert): Effect.Effect<number, unknown> =>
  Effect.gen(function* () {
    const start = yield* now
    const counts = yield* Effect.forEach(
      Array.from({ length: FLOOR_CLIENTS }),
      () =>
        Effect.gen(function* () {
          let commits = 0
          while ((yield* now) - start < FLOOR_MS) {
            yield* insert
            commits++
          }
          return commits
        }),
      { concurrency: "unbounded" }
    )
    const elapsed = (yield* now) - start
    return counts.reduce((a, b) => a + b, 0) / (elapsed / 1_000)
  })

const clientOf = <E>(layer: Layer.Layer<SqlClient.SqlClient, E>): Effect.Effect<SqlClient.SqlClient, E, Scope.Scope> =>
  Effect.map(Layer.build(layer), Context.get(SqlClient.SqlClient))

// ---------------------------------------------------------------------------------------------
// SQLite: temp files

let tempDir: string | undefined
let tempFiles = 0

/** A temp file path, in a folder removed when the process exits. */
const tempFile = (prefix: string): string => {
  if (tempDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "weft-bench-"))
    tempDir = dir
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }))
  }
  return join(tempDir, `${prefix}-${tempFiles++}.db`)
}

const removeDatabaseFile = (filename: string) =>
  Effect.sync(() => {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(filename + suffix, { force: true })
  })

const sqliteFile = (prefix: string) => Effect.acquireRelease(Effect.sync(() => tempFile(prefix)), removeDatabaseFile)

const sqlite: BenchEngine = {
  name: "sqlite",
  byDefault: true,
  durable: true,
  sizes: sqlSizes,
  open: Effect.sync(() => ({
    ...sqlite,
    where: `temp files in ${tmpdir()} (WAL, SqliteClient defaults)`,
    fresh: Effect.gen(function* () {
      const filename = yield* sqliteFile("run")
      const { SqliteEngine } = yield* sqliteEngine
      return { layer: SqliteEngine.layer({ filename }), spec: `sqlite:${filename}` }
    }),
    floor: Effect.gen(function* () {
      const filename = yield* sqliteFile("floor")
      const { SqliteClient } = yield* sqliteEngine
      const sql = yield* clientOf(SqliteClient.layer({ filename }))
      yield* sql`CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, v TEXT)`
      return {
        serial: { label: "1 client: INSERT commit", open: Effect.succeed(serialInserts(sqlInsert(sql))) },
        concurrent: {
          label: `${FLOOR_CLIENTS} fibers, 1 connection: INSERT commits`,
          open: Effect.succeed(concurrentInserts(sqlInsert(sql)))
        },
        serialAs: "ms"
      } satisfies FloorProbe
    })
  }))
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a fresh database per run

const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test"

/** Runs one statement on `url` with a short-lived connection. */
const adminQuery = async (url: string, text: string): Promise<Array<any>> => {
  const client = new Pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end()
  }
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")

/** A `pg` pool of `max` connections on `url`, all opened before it is handed out, ended with the scope. */
const pgPool = (url: string, max: number): Effect.Effect<Pg.Pool, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const pool = new Pg.Pool({ connectionString: url, max })
      const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()))
      for (const client of clients) client.release()
      return pool
    }),
    (pool) => Effect.promise(() => pool.end())
  )

/** A single-row autocommit INSERT on the pool. */
const pgInsert = (pool: Pg.Pool): Insert => Effect.tryPromise(() => pool.query("INSERT INTO bench_floor (v) VALUES ($1)", ["x"]))

/** A database made for one run (or one floor), dropped when the scope closes. */
const pgDatabase = (url: string): Effect.Effect<string, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const name = `weft_bench_${randomBytes(6).toString("hex")}`
      await adminQuery(url, `CREATE DATABASE ${name}`)
      const next = new URL(url)
      next.pathname = `/${name}`
      return { name, url: next.toString() }
    }),
    ({ name }) => Effect.promise(() => adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => []))
  ).pipe(Effect.map(({ url }) => url))

const postgres: BenchEngine = {
  name: "postgres",
  byDefault: true,
  durable: true,
  sizes: sqlSizes,
  open: Effect.promise(async (): Promise<Ready | string> => {
    const candidates = [process.env.DATABASE_URL, DEFAULT_PG_URL].filter((url): url is string => !!url)
    for (const url of candidates) {
      try {
        const [row] = await adminQuery(
          url,
          "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync, " +
            "current_setting('fsync') AS fsync"
        )
        const connections = pgConnections()
        return {
          ...postgres,
          where: `PostgreSQL ${row.version} at ${redact(url)} (synchronous_commit ${row.sync}, fsync ${row.fsync}); ` +
            `engine pool maxConnections ${connections}`,
          fresh: Effect.gen(function* () {
            const db = yield* pgDatabase(url)
            const { PgEngine } = yield* pgEngine
            const layer = PgEngine.layer({ url: db, maxConnections: connections })
            return { layer, spec: `pg:${db}` }
          }),
          floor: Effect.gen(function* () {
            const db = yield* pgDatabase(url)
            yield* Effect.tryPromise(() => adminQuery(db, "CREATE TABLE bench_floor (id BIGSERIAL, v TEXT)"))
            return {
              serial: {
                label: "1 client: INSERT commit",
                open: Effect.map(pgPool(db, 1), (pool) => serialInserts(pgInsert(pool)))
              },
              concurrent: {
                label: `${FLOOR_CLIENTS} clients: INSERT commits`,
                open: Effect.map(pgPool(db, FLOOR_CLIENTS), (pool) => concurrentInserts(pgInsert(pool)))
              },
              serialAs: "ms"
            } satisfies FloorProbe
          })
        }
      } catch {
        // Try the next candidate.
      }
    }
    return `PostgreSQL is not answering at ${candidates.map(redact).join(" or ")}: skipped (set DATABASE_URL)`
  })
}

const memory: BenchEngine = {
  name: "memory",
  byDefault: true,
  durable: false,
  sizes: memorySizes,
  open: Effect.sync(() => ({
    ...memory,
    where: "in-process",
    fresh: Effect.succeed({ layer: WorkflowEngine.layerMemory, spec: undefined }),
    floor: Effect.succeed({
      serial: { label: "bare Effect step", open: Effect.succeed(memoryFloor) },
      concurrent: undefined,
      serialAs: "perSecond"
    } satisfies FloorProbe)
  }))
}

/** Every engine the bench knows, in table order. */
export const engines: ReadonlyArray<BenchEngine> = [memory, sqlite, postgres]
