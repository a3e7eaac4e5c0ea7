/**
 * PostgreSQL test helpers: administrative queries, a fresh database per test, and a transaction held open.
 */
import { randomBytes } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import pg from "pg"
import { inject } from "vitest"
import { waitUntil } from "./util.js"

/** Runs one statement on `url` with a short-lived connection. */
export const adminQuery = async (url: string, text: string): Promise<Array<any>> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end()
  }
}

/** Creates an empty database next to `url`'s and returns its URL. */
export const freshDatabase = async (url: string): Promise<string> => {
  const name = `weft_t_${process.env.WEFT_TEST_RUN ?? process.pid}_${randomBytes(4).toString("hex")}`
  await adminQuery(url, `CREATE DATABASE ${name}`)
  const next = new URL(url)
  next.pathname = `/${name}`
  return next.toString()
}

/**
 * A fresh database next to the run's server, dropped (its connections ended) when the scope closes: a run's
 * hundreds of per-test databases do not pile up until it ends. Whatever a failed drop leaves, the run's global
 * teardown drops.
 */
export const testDatabase = (url: string = inject("pgUrl")) =>
  Effect.acquireRelease(Effect.promise(() => freshDatabase(url)), (created) =>
    Effect.promise(() =>
      adminQuery(url, `DROP DATABASE IF EXISTS ${new URL(created).pathname.slice(1)} WITH (FORCE)`).catch(() => undefined)
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
