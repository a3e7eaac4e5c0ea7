/**
 * PostgreSQL test helpers: administrative queries and a fresh database per test.
 */
import { randomBytes } from "node:crypto"
import pg from "pg"

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
