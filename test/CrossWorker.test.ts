/**
 * Interrupting from another worker on PostgreSQL: the execution runs on engine A, engine B (which
 * only knows the definition) interrupts it; A stops the running activity at once, runs the
 * compensations and ends it as interrupted.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { inject } from "vitest"
import { SqlEngine } from "@weft/engine-sql"
import { Activity, Workflow, WorkflowEngine } from "@weft/workflow"
import { freshDatabase } from "./pg.js"
import { hasStatus, waitUntil } from "./util.js"

describe("across workers on PostgreSQL", () => {
  it.scopedLive("an interrupt requested by another worker stops the run where it runs and compensates it", () =>
    Effect.gen(function* () {
      const url = yield* Effect.promise(() => freshDatabase(inject("pgUrl")))
      const started = yield* Deferred.make<void>()
      const compensated: Array<string> = []
      const WorkerLive = Layer.provideMerge(
        Hold.toLayer(() =>
          Effect.gen(function* () {
            yield* Activity.make({ name: "reserve", execute: Effect.void }).pipe(
              Workflow.withCompensation(() => Effect.sync(() => void compensated.push("release")))
            )
            yield* Activity.make({ name: "wait", execute: Effect.zipRight(Deferred.succeed(started, undefined), Effect.never) })
          })
        ),
        SqlEngine.layerPg({ url, pollIntervalMs: 60_000 })
      )
      const worker = yield* Layer.build(WorkerLive)
      const id = yield* Hold.execute({ id: "h1" }, { discard: true }).pipe(Effect.provide(worker))
      yield* Deferred.await(started)

      // Another process: it has the definition, not the body.
      const other = yield* Layer.build(SqlEngine.layerPg({ url, acceptUnregistered: true, pollIntervalMs: 60_000 }))
      yield* Hold.interrupt(id).pipe(Effect.provide(other))

      yield* waitUntil(Effect.provide(hasStatus(id, "interrupted"), other), "interrupted on the worker")
      assert.deepStrictEqual(compensated, ["release"])
      const detail = yield* WorkflowEngine.detail(id).pipe(Effect.provide(other))
      assert.deepStrictEqual(
        detail._tag === "Some" ? detail.value.attempts.map((a) => a.name) : [],
        ["reserve", "@weft/compensation/0"]
      )
    }))
})

const Hold = Workflow.make({ name: "Hold", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })
