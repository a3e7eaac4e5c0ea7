/**
 * PostgreSQL test helpers: administrative queries and a fresh database per test. Loaded by the global setup too,
 * so it imports no Weft package (see pgRace.ts for what does).
 */
import { randomBytes } from "node:crypto"
import * as Effect from "effect/Effect"
import pg from "pg"
import { inject } from "vitest"

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
