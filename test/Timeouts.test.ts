/**
 * Durable timeouts. An activity's `timeout` bounds each attempt: past it the attempt is interrupted and journaled
 * as failed (`ActivityTimedOut`, naming the activity, attempt and bound), and the retry policy tries again.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { Activity, Workflow, WorkflowEngine } from "@weft/workflow"
import { record, waitUntil } from "./util.js"

const Fetch = Workflow.make({
  name: "Fetch",
  payload: { id: Schema.String, hangs: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/** `fetch` hangs on its first `hangs` attempts (until its timeout stops it), then answers. */
const bodies = (runs: Array<number>, retried: boolean) =>
  Fetch.toLayer(({ hangs }) => {
    const fetch = Activity.make({
      name: "fetch",
      success: Schema.String,
      timeout: "5 seconds",
      execute: Effect.flatMap(Activity.CurrentAttempt, (attempt) => {
        runs.push(attempt)
        return attempt <= hangs ? Effect.never : Effect.succeed(`fetched on attempt ${attempt}`)
      })
    })
    return retried ? Activity.retry(fetch, { times: 2, schedule: Schedule.spaced("1 second") }) : fetch
  })

/** Runs `execute` in a fiber and moves the test clock a second at a time until it ends. */
const driven = <A, E, R>(execute: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.exit(execute))
    yield* waitUntil(
      Effect.gen(function* () {
        yield* TestClock.adjust("1 second")
        return fiber.pollUnsafe() !== undefined
      }),
      "the execution ended"
    )
    return yield* Fiber.join(fiber)
  })

describe("Activity timeout", () => {
  it.effect("an attempt past its timeout is journaled as failed, naming the bound, and the policy tries again", () => {
    const runs: Array<number> = []
    return Effect.gen(function* () {
      const exit = yield* driven(Fetch.execute({ id: "a", hangs: 2 }))
      assert.deepStrictEqual(exit, Exit.succeed("fetched on attempt 3"))
      assert.deepStrictEqual(runs, [1, 2, 3])
      const detail = yield* record(yield* Fetch.executionId({ id: "a", hangs: 2 }))
      const stored = detail.attempts.map((a) => {
        const cause = (a.exit as { cause?: { defect?: { name?: string; message?: string } } }).cause
        return [a.name, a.attempt, cause?.defect?.name ?? "ok", a.completedAt - a.startedAt] as const
      })
      assert.deepStrictEqual(stored, [
        ["fetch", 1, "ActivityTimedOut", 5_000],
        ["fetch", 2, "ActivityTimedOut", 5_000],
        ["fetch", 3, "ok", 0]
      ])
      const message = (detail.attempts[0]!.exit as { cause: { defect: { message: string } } }).cause.defect.message
      assert.match(message, /Activity "fetch" of workflow "Fetch" \(execution \w+\) timed out on attempt 1: it ran past its timeout of 5000 ms/)
    }).pipe(Effect.provide(Layer.provideMerge(bodies(runs, true), WorkflowEngine.layerMemory)))
  })

  it.effect("without retries left, the execution fails with the timeout's defect (retry or resume it once fixed)", () => {
    const runs: Array<number> = []
    return Effect.gen(function* () {
      const exit = yield* driven(Fetch.execute({ id: "b", hangs: 1 }))
      assert.isTrue(Exit.hasDies(exit))
      const id = yield* Fetch.executionId({ id: "b", hangs: 1 })
      assert.strictEqual((yield* WorkflowEngine.get(id)).status, "failed")
      // The cause is gone (the remote answers now): a retry runs the timed-out activity again.
      assert.deepStrictEqual((yield* WorkflowEngine.retry(id)).activities, ["fetch"])
      const ended = yield* WorkflowEngine.result(id)
      assert.strictEqual(ended._tag === "Some" ? ended.value.status : "none", "succeeded")
      assert.deepStrictEqual(runs, [1, 3])
    }).pipe(Effect.provide(Layer.provideMerge(bodies(runs, false), WorkflowEngine.layerMemory)))
  })

  it("a timeout that is not a finite duration above zero is refused where the activity is defined", () => {
    for (const timeout of [0, -1, "0 millis", Number.POSITIVE_INFINITY] as const) {
      assert.throws(
        () => Activity.make({ name: "bad", execute: Effect.void, timeout }),
        /Activity "bad": timeout must be a finite duration above zero/
      )
    }
  })
})
