/**
 * The SQL store against the store conformance suite, on SQLite (a database per test) and on
 * PostgreSQL (a fresh database per test).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { inject } from "vitest"
import { SqlStore } from "@weft/engine-sql"
import { storeConformance } from "./conformance/StoreConformance.js"
import { freshDatabase } from "./pg.js"

storeConformance("SqlStore on SQLite", ({ leaseMs }) =>
  SqlStore.layer({ leaseMs }).pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" })))
)

storeConformance("SqlStore on PostgreSQL", ({ leaseMs }) =>
  SqlStore.layer({ leaseMs }).pipe(
    Layer.provide(
      Layer.unwrapEffect(
        Effect.map(Effect.promise(() => freshDatabase(inject("pgUrl"))), (url) =>
          PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })
        )
      )
    )
  )
)
