/**
 * The SQL store against the store conformance suite, on SQLite (a database per test) and on
 * PostgreSQL (a fresh database per test).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { inject } from "vitest"
import { SqlStore } from "@weft/engine-sql"
import { WorkflowStore } from "@weft/workflow"
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

describe("SqlStore on PostgreSQL: group commit", () => {
  it.scoped("writes concurrent attempts together, fencing each row on its own", () =>
    Effect.gen(function* () {
      const store = yield* WorkflowStore.WorkflowStore
      const ids = Array.from({ length: 40 }, (_, i) => `g${i}`)
      const fences = new Map<string, number>()
      for (const id of ids) {
        const created = yield* store.create({ executionId: id, workflow: "W", payload: {}, parent: undefined, at: 1, claimFor: "a" })
        fences.set(id, created.fence!)
      }
      // g0's claim is taken over: its write in the batch must fail alone.
      assert.isTrue(Option.isSome(yield* store.claim("g0", "b", 2_000_000)))
      const attempt = (name: string) => ({ name, attempt: 1, exit: { _tag: "Success", value: name }, startedAt: 2, completedAt: 3 })
      const results = yield* Effect.forEach(
        ids,
        (id) => Effect.either(store.recordAttempt(id, fences.get(id)!, attempt(`step-${id}`))),
        { concurrency: "unbounded" }
      )
      assert.isTrue(Either.isLeft(results[0]!) && results[0]!.left.reason === "LeaseLost")
      for (const result of results.slice(1)) assert.isTrue(Either.isRight(result))
      // The same attempt again is first-writer-wins, through the batch too.
      const again = yield* Effect.forEach(
        ids.slice(1),
        (id) => store.recordAttempt(id, fences.get(id)!, { ...attempt(`step-${id}`), exit: { _tag: "Success", value: "other" } }),
        { concurrency: "unbounded" }
      )
      for (const [i, stored] of again.entries()) assert.deepStrictEqual(stored.exit, { _tag: "Success", value: `step-g${i + 1}` })
      const g0 = yield* store.detail("g0")
      assert.strictEqual(Option.getOrThrow(g0).attempts.length, 0)
    }).pipe(
      Effect.provide(
        SqlStore.layer({ leaseMs: 1_000_000 }).pipe(
          Layer.provide(
            Layer.unwrapEffect(
              Effect.map(Effect.promise(() => freshDatabase(inject("pgUrl"))), (url) =>
                PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })
              )
            )
          )
        )
      )
    ))
})
