/**
 * Statements that meet on one PostgreSQL row: a transaction held open on a connection of its own while a racer waits;
 * and the store they race on, over either client.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { SqlStore } from "@weft/engine-sql"
import { PgDriver } from "@weft/engine-sql/pg"
import { waitUntil } from "./util.js"

/** The two ways a SqlStore reaches PostgreSQL: the engine's own driver, or any `PgClient`. */
export type PgClientKind = "PgDriver" | "plain PgClient"

/** A SqlStore on the database at `url` over `client`, with two connections. */
export const pgStoreOver = (url: string, client: PgClientKind, options: SqlStore.Options) =>
  SqlStore.layer(options).pipe(
    Layer.provide(
      client === "PgDriver"
        ? PgDriver.layer({ url, maxConnections: 2 })
        : PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })
    )
  )

/**
 * Runs `text` in a transaction on a connection of its own and holds it open until `racer`, forked meanwhile, waits
 * on a row lock (seen in pg_stat_activity, not timed); then commits and returns what `racer` gave. For statements
 * that meet on one row.
 */
export const whileHeld = <A, E, R>(
  url: string,
  statement: { readonly text: string; readonly params: ReadonlyArray<unknown> },
  racer: Effect.Effect<A, E, R>,
  waiting: string
) =>
  Effect.gen(function* () {
    const other = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const client = new pg.Client({ connectionString: url })
        await client.connect()
        return client
      }),
      (client) => Effect.promise(() => client.end())
    )
    const query = (text: string, values: ReadonlyArray<unknown> = []) =>
      Effect.promise(() => other.query(text, values as Array<unknown>))
    yield* query("BEGIN")
    yield* query(statement.text, statement.params)
    const racing = yield* Effect.forkChild(racer)
    yield* waitUntil(
      Effect.map(
        query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"),
        (result) => result.rows[0].n > 0
      ),
      waiting
    )
    yield* query("COMMIT")
    return yield* Fiber.join(racing)
  })
