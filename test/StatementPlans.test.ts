/**
 * The engine's PostgreSQL statements run with generic plans, made once per connection. Under the session
 * settings of its connections each must be planned with index scans and nested loops only, even on empty
 * tables: a plan that scans a table would be kept, and grow slower with the table, for the connection's life.
 * Those settings must not reach the user's queries, which run on SqlClient's pool.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SqlClient from "effect/sql/SqlClient"
import pg from "pg"
import { SqlStore } from "@weft/engine-sql"
import { PgDriver } from "@weft/engine-sql/pg"
import * as Statements from "../packages/engine-sql/src/internal/pgStatements.js"
import { testDatabase } from "./pg.js"

/** Plan nodes that read a whole table or build a hash or sort of one. */
const SCANS = /Seq Scan|Hash (?:\w+ )*Join|Merge (?:\w+ )*Join/

const parameters = (text: string) => Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))

describe("PostgreSQL statement plans", () => {
  it.effect("every hot statement's generic plan uses only index scans and nested loops", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      // Building the store runs the migrations: the tables and indexes the plans see.
      yield* Effect.scoped(Layer.build(SqlStore.layer().pipe(Layer.provide(PgDriver.layer({ url, maxConnections: 1 })))))
      const plans = yield* Effect.acquireUseRelease(
        Effect.promise(async () => {
          const client = new pg.Client({ connectionString: url, options: Statements.STATEMENT_SESSION })
          await client.connect()
          return client
        }),
        (client) =>
          Effect.promise(async () => {
            const found: Array<{ name: string; plan: string }> = []
            for (const statement of Statements.all) {
              await client.query(`PREPARE ${statement.name} AS ${statement.text}`)
              const nulls = Array.from({ length: parameters(statement.text) }, () => "NULL").join(", ")
              const rows = await client.query(`EXPLAIN EXECUTE ${statement.name}${nulls === "" ? "" : `(${nulls})`}`)
              found.push({ name: statement.name, plan: rows.rows.map((r) => r["QUERY PLAN"]).join("\n") })
            }
            return found
          }),
        (client) => Effect.promise(() => client.end())
      )
      assert.isAbove(plans.length, 10)
      for (const { name, plan } of plans) {
        assert.isFalse(SCANS.test(plan), `${name} scans a table:\n${plan}`)
        assert.include(plan, "Index", `${name} uses no index:\n${plan}`)
      }
    }))

  it.effect("the pinned settings stay on the engine's own connections: SqlClient's keep PostgreSQL's defaults", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const context = yield* Layer.build(PgDriver.layer({ url, maxConnections: 2 }))
      const driver = Context.get(context, PgDriver.PgDriver)
      const sql = Context.get(context, SqlClient.SqlClient)
      const setting = { name: "weft_test_setting", text: "SELECT current_setting('enable_seqscan') AS v, current_setting('plan_cache_mode') AS m" }
      const [own] = yield* driver.query(setting, [])
      assert.deepStrictEqual({ ...own }, { v: "off", m: "force_generic_plan" })
      const [users] = yield* sql.unsafe<{ v: string; m: string }>(setting.text)
      assert.deepStrictEqual({ ...users }, { v: "on", m: "auto" })
    }))
})
