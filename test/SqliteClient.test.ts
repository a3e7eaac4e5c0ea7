/**
 * Weft's SQLite client over better-sqlite3: the sqlite dialect, template statements, transactions with
 * nested savepoints on one shared connection, the Migrator, and a database the Effect 3 build migrated.
 */
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"
import { SqliteClient, SqliteEngine } from "@weft/engine-sql/sqlite"
import * as Migrations from "../packages/engine-sql/src/internal/migrations.js"

describe("SqliteClient", () => {
  it.effect("is a SqlClient on the sqlite dialect that runs template statements", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      assert.strictEqual(sql.onDialectOrElse({ sqlite: () => "sqlite", orElse: () => "other" }), "sqlite")
      yield* sql`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`
      const inserted = yield* sql`INSERT INTO t (name) VALUES (${"ß-λ"}), (${"b"}) RETURNING id, name`
      assert.deepStrictEqual(inserted, [{ id: 1, name: "ß-λ" }, { id: 2, name: "b" }])
      assert.deepStrictEqual(yield* sql`UPDATE t SET name = 'c' WHERE id = ${2}`, [])
      assert.deepStrictEqual(yield* sql`SELECT name FROM t WHERE id IN ${sql.in([1, 2])} ORDER BY id`, [
        { name: "ß-λ" },
        { name: "c" }
      ])
      assert.deepStrictEqual(yield* sql`SELECT id, name FROM t ORDER BY id`.values, [[1, "ß-λ"], [2, "c"]])
      assert.deepStrictEqual(yield* sql.unsafe("SELECT count(*) AS n FROM t WHERE id > ?", [0]), [{ n: 2 }])
    }).pipe(Effect.provide(memory)))

  it.effect("reads integers as bigints under SafeIntegers", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql`SELECT 9007199254740993 AS big`.pipe(Effect.provideService(SqlClient.SafeIntegers, true))
      assert.strictEqual(row.big, 9007199254740993n)
      const [plain] = yield* sql`SELECT 9007199254740993 AS big`
      assert.strictEqual(typeof plain.big, "number")
    }).pipe(Effect.provide(memory)))

  it.effect("fails a broken statement with a classified SqlError", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE u (k TEXT UNIQUE)`
      yield* sql`INSERT INTO u VALUES ('a')`
      const duplicate = yield* Effect.flip(sql`INSERT INTO u VALUES ('a')`)
      assert.isTrue(SqlError.isSqlError(duplicate))
      assert.strictEqual(duplicate.reason._tag, "UniqueViolation")
      const missing = yield* Effect.flip(sql`SELECT * FROM nowhere`)
      assert.strictEqual(missing.reason._tag, "UnknownError")
      assert.match(missing.message, /Failed to prepare statement/)
    }).pipe(Effect.provide(memory)))

  it.effect("commits a transaction, rolls back a failed one, and a failed savepoint alone", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE t (v TEXT)`
      yield* sql.withTransaction(sql`INSERT INTO t VALUES ('committed')`)
      yield* Effect.flip(sql.withTransaction(Effect.andThen(sql`INSERT INTO t VALUES ('rolled back')`, Effect.fail("no"))))
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`INSERT INTO t VALUES ('outer')`
          yield* Effect.flip(sql.withTransaction(Effect.andThen(sql`INSERT INTO t VALUES ('inner, failed')`, Effect.fail("no"))))
          yield* sql.withTransaction(
            Effect.andThen(sql`INSERT INTO t VALUES ('inner')`, sql.withTransaction(sql`INSERT INTO t VALUES ('innermost')`))
          )
        })
      )
      const rows = yield* sql<{ v: string }>`SELECT v FROM t ORDER BY rowid`
      assert.deepStrictEqual(rows.map((r) => r.v), ["committed", "outer", "inner", "innermost"])
    }).pipe(Effect.provide(memory)))

  it.effect("holds the connection for a transaction: other fibers' statements wait for its end", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE t (v TEXT)`
      const inside = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const transaction = yield* Effect.forkChild(
        sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`INSERT INTO t VALUES ('in the transaction')`
            yield* Deferred.succeed(inside, undefined)
            yield* Deferred.await(release)
            return yield* Effect.fail("rolled back")
          })
        )
      )
      yield* Deferred.await(inside)
      const outside = yield* Effect.forkChild(sql`INSERT INTO t VALUES ('outside')`)
      yield* Effect.yieldNow
      assert.isUndefined(outside.pollUnsafe())
      yield* Deferred.succeed(release, undefined)
      assert.isTrue(Exit.isFailure(yield* Fiber.await(transaction)))
      yield* Fiber.join(outside)
      assert.deepStrictEqual(yield* sql`SELECT v FROM t`, [{ v: "outside" }])
    }).pipe(Effect.provide(memory)))

  it.effect("rolls back an interrupted transaction and gives the connection back", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE t (v TEXT)`
      const inside = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        sql.withTransaction(Effect.andThen(sql`INSERT INTO t VALUES ('lost')`, Effect.andThen(Deferred.succeed(inside, undefined), Effect.never)))
      )
      yield* Deferred.await(inside)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* sql`SELECT v FROM t`, [])
      yield* sql.withTransaction(sql`INSERT INTO t VALUES ('kept')`)
      assert.deepStrictEqual(yield* sql`SELECT v FROM t`, [{ v: "kept" }])
    }).pipe(Effect.provide(memory)))

  it.effect("runs the Migrator, once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const run = Migrator.make({})({
        loader: Migrator.fromRecord({
          "0001_first": Effect.asVoid(sql`CREATE TABLE a (x INTEGER)`),
          "0002_second": Effect.asVoid(sql`CREATE TABLE b (x INTEGER)`)
        }),
        table: "test_migrations"
      })
      assert.deepStrictEqual(yield* run, [[1, "first"], [2, "second"]])
      assert.deepStrictEqual(yield* run, [])
      const recorded = yield* sql`SELECT migration_id, name FROM test_migrations ORDER BY migration_id`
      assert.deepStrictEqual(recorded, [{ migration_id: 1, name: "first" }, { migration_id: 2, name: "second" }])
    }).pipe(Effect.provide(memory)))

  it.effect("opens a database the Effect 3 build migrated without migrating it again (only the migrations added since)", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "weft-sqlite-client-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const filename = join(dir, "weft.db")
      copyFileSync(join(import.meta.dirname, "fixtures", "effect3", "weft-effect3.db"), filename)
      const migrated = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const before = yield* sql`SELECT * FROM weft_migrations ORDER BY migration_id`
        const ran = yield* Migrations.run
        const after = yield* sql`SELECT * FROM weft_migrations ORDER BY migration_id`
        return { before, ran, after }
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))
      // The three it ran are not run again; only the migrations added since run.
      assert.deepStrictEqual(migrated.ran, [[4, "add_recoveries"], [5, "add_idempotency_keys"], [6, "add_schedules"], [7, "add_versions"]])
      assert.deepStrictEqual(migrated.after.slice(0, 3), migrated.before)
      assert.deepStrictEqual(migrated.after.map((r) => [r.migration_id, r.name]), [
        [1, "create_tables"],
        [2, "add_watched"],
        [3, "index_parents"],
        [4, "add_recoveries"],
        [5, "add_idempotency_keys"],
        [6, "add_schedules"],
        [7, "add_versions"]
      ])
    }))

  it.effect("opens a file in WAL mode, exports it, and fails to open a missing folder as a SqlError", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "weft-sqlite-client-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const bytes = yield* Effect.gen(function* () {
        const sql = yield* SqliteClient.SqliteClient
        assert.deepStrictEqual(yield* sql`PRAGMA journal_mode`, [{ journal_mode: "wal" }])
        yield* sql`CREATE TABLE t (v TEXT)`
        return yield* sql.export
      }).pipe(Effect.provide(SqliteClient.layer({ filename: join(dir, "a.db") })))
      assert.strictEqual(new TextDecoder().decode(bytes.slice(0, 15)), "SQLite format 3")
      const error = yield* Effect.flip(
        Layer.build(SqliteClient.layer({ filename: join(dir, "missing", "a.db") }))
      )
      assert.strictEqual(error.reason._tag, "ConnectionError")
    }))

  it.effect("creates a database file readable by its owner only (0600, its WAL too), and leaves an existing one's mode", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "weft-sqlite-mode-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const mode = (file: string) => statSync(file).mode & 0o777
      const created = join(dir, "created.db")
      yield* Effect.gen(function* () {
        const sql = yield* SqliteClient.SqliteClient
        yield* sql`CREATE TABLE t (v TEXT)`
        yield* sql`INSERT INTO t VALUES ('x')`
        assert.isTrue(existsSync(`${created}-wal`))
        assert.strictEqual(mode(`${created}-wal`), 0o600)
      }).pipe(Effect.provide(SqliteClient.layer({ filename: created })))
      assert.strictEqual(mode(created), 0o600)

      // The engine's file (in a folder it creates) likewise.
      const engineFile = join(dir, "nested", "weft.db")
      yield* Effect.scoped(Layer.build(SqliteEngine.layer({ filename: engineFile, signingKey: "k".repeat(32) })))
      assert.strictEqual(mode(engineFile), 0o600)

      // An existing file (empty, or a database) is opened as it is: its mode is the owner's choice.
      const existing = join(dir, "existing.db")
      writeFileSync(existing, "")
      chmodSync(existing, 0o640)
      yield* Effect.scoped(Layer.build(SqliteClient.layer({ filename: existing })))
      assert.strictEqual(mode(existing), 0o640)
    }))
})

const memory = SqliteClient.layer({ filename: ":memory:" })
