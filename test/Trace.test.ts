/**
 * The trace (`WorkflowEngine.trace`, `WorkflowTrace.fromDetail`) and notes (`Workflow.note`), on the memory engine
 * and SQLite: one execution with a retried activity, a note, a sleep, a deferred wait, a child, a queue-less
 * compensation, read back as one timeline in time order; a note is written once however often the body replays.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, layer } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { afterAll } from "vitest"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableClock, DurableDeferred, Workflow, WorkflowEngine, WorkflowStore, WorkflowTrace } from "@weft/workflow"
import { suspended } from "./util.js"

class Flaky extends Data.TaggedError("Flaky")<{ readonly attempt: number }> {}
class Declined extends Schema.TaggedError<Declined>()("Declined", { reason: Schema.String }) {}

const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ by: Schema.String }) })

const Receipt = Workflow.make({
  name: "Receipt",
  payload: { order: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ order }) => order
})

const Order = Workflow.make({
  name: "Order",
  payload: { order: Schema.String, decline: Schema.Boolean },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ order }) => order
})

const bodyRuns = new Map<string, number>()

const Live = Layer.mergeAll(
  Receipt.toLayer(({ order }) => Activity.make({ name: "print", success: Schema.String, execute: Effect.succeed(`receipt ${order}`) })),
  Order.toLayer(({ decline, order }) =>
    Effect.gen(function* () {
      bodyRuns.set(order, (bodyRuns.get(order) ?? 0) + 1)
      yield* Workflow.note("order received", { order })
      const charged = yield* Activity.retry(
        Activity.make({
          name: "charge",
          success: Schema.String,
          error: Schema.Never,
          execute: Effect.gen(function* () {
            const attempt = yield* Activity.CurrentAttempt
            if (attempt < 2) return yield* Effect.die(new Flaky({ attempt }))
            return `charged ${order}`
          })
        }),
        { times: 2, schedule: Schedule.spaced("5 millis"), while: () => true }
      ).pipe(Workflow.withCompensation(() => Effect.void))
      yield* DurableClock.sleep({ name: "cool-off", duration: "10 millis" })
      const { by } = yield* DurableDeferred.await(Approval)
      yield* Workflow.note(`approved by ${by}`)
      const receipt = yield* Effect.orDie(Receipt.execute({ order }))
      if (decline) return yield* new Declined({ reason: "limit" })
      return `${charged}, ${receipt}`
    })
  )
)

const dir = mkdtempSync(join(tmpdir(), "weft-trace-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const engines: ReadonlyArray<readonly [string, Layer.Layer<WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore>]> = [
  ["memory", WorkflowEngine.layerMemory],
  ["sqlite", SqliteEngine.layer({ filename: join(dir, "trace.db") }).pipe(Layer.orDie)]
]

for (const [name, engine] of engines) {
  describe(`the trace on ${name}`, () => {
    layer(Layer.provideMerge(Live, engine), { excludeTestServices: true })((it) => {
      it.effect("one timeline: notes, attempts with outcomes, the backoff, the sleep, the deferred, the child, the compensation, the end", () =>
        Effect.gen(function* () {
          const id = yield* Order.execute({ order: `o-${name}`, decline: true }, { discard: true })
          yield* suspended(Order, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Order.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "grace" } })
          const error = yield* Effect.flip(Order.execute({ order: `o-${name}`, decline: true }))
          assert.strictEqual(error._tag, "Declined")

          const trace = Option.getOrThrow(yield* WorkflowEngine.trace(id))
          assert.strictEqual(trace.execution.status, "failed")
          const entries = trace.entries
          // In time order.
          for (let i = 1; i < entries.length; i++) assert.isAtMost(entries[i - 1]!.at, entries[i]!.at)
          const kinds = entries.map((e) => (e.kind === "event" ? e.event : e.kind))
          assert.strictEqual(kinds[0], "started")
          assert.strictEqual(kinds.at(-1), "failed")

          const notes = entries.filter((e) => e.kind === "note")
          assert.deepStrictEqual(notes.map((n) => [n.message, n.data]), [
            ["order received", { order: `o-${name}` }],
            ["approved by grace", undefined]
          ])
          // Written once each although the body ran more than once (it suspended on the sleep's wait and the deferred).
          assert.isAtLeast(bodyRuns.get(`o-${name}`)!, 2)

          const charges = entries.filter((e) => e.kind === "activity" && e.name === "charge")
          assert.deepStrictEqual(charges.map((c) => c.kind === "activity" && [c.attempt, c.outcome]), [
            [1, "defect"],
            [2, "success"]
          ])
          const wait = entries.find((e) => e.kind === "retry-wait")
          assert.isDefined(wait)
          assert.include(wait, { activity: "charge", attempt: 2 })
          assert.strictEqual(wait!.at, charges[0]!.kind === "activity" ? charges[0]!.endedAt : -1)

          assert.isDefined(entries.find((e) => e.kind === "sleep" && e.name === "cool-off"))
          assert.deepInclude(entries.find((e) => e.kind === "deferred"), {
            name: "approval",
            outcome: "success",
            value: { by: "grace" }
          })
          const child = entries.find((e) => e.kind === "child")
          assert.deepInclude(child, { workflow: "Receipt", childId: Workflow.executionIdFor("Receipt", `o-${name}`), outcome: "success" })
          assert.deepInclude(entries.find((e) => e.kind === "child-result"), { outcome: "success", value: `receipt o-${name}` })
          assert.deepInclude(entries.find((e) => e.kind === "compensation"), { index: 0, outcome: "success" })
          assert.isDefined(entries.find((e) => e.kind === "event" && e.event === "compensated"))
          assert.isDefined(entries.find((e) => e.kind === "event" && e.event === "signal-received" && e.detail === "approval"))
        }))

      it.effect("an unknown execution has no trace", () =>
        Effect.map(WorkflowEngine.trace("0".repeat(32)), (trace) => assert.isTrue(Option.isNone(trace))))

      it.effect("a note whose data is not JSON fails the execution with a defect naming it, nothing stored for it", () =>
        Effect.gen(function* () {
          const Bad = Workflow.make({ name: `BadNote-${name}`, payload: { n: Schema.Number }, idempotencyKey: ({ n }) => String(n) })
          const exit = yield* Effect.exit(
            Bad.execute({ n: 1 }).pipe(Effect.provide(Bad.toLayer(() => Workflow.note("bad", { at: new Date(0) }))))
          )
          assert.isTrue(exit._tag === "Failure")
          const trace = Option.getOrThrow(yield* WorkflowEngine.trace(Workflow.executionIdFor(Bad.name, "1")))
          assert.deepStrictEqual(trace.entries.filter((e) => e.kind === "note"), [])
          assert.strictEqual(trace.execution.status, "failed")
          assert.match(JSON.stringify(trace.execution.result), /@weft\/note\/0/)
        }))
    })
  })
}

describe("WorkflowTrace.outcomeOf", () => {
  const { outcomeOf } = WorkflowTrace
  layer(Layer.empty)((it) => {
    it.effect("reads success, a typed error inside a sequence, a defect, and an interrupt; nothing else", () =>
      Effect.sync(() => {
        assert.deepStrictEqual(outcomeOf({ _tag: "Success", value: 1 }), { outcome: "success", value: 1 })
        assert.deepStrictEqual(
          outcomeOf({ _tag: "Failure", cause: { _tag: "Sequential", left: { _tag: "Die", defect: "x" }, right: { _tag: "Fail", error: "e" } } }),
          { outcome: "failure", value: "e" }
        )
        assert.deepStrictEqual(outcomeOf({ _tag: "Failure", cause: { _tag: "Die", defect: "d" } }), { outcome: "defect", value: "d" })
        assert.deepStrictEqual(outcomeOf({ _tag: "Failure", cause: { _tag: "Interrupt" } }), { outcome: "interrupted" })
        assert.isUndefined(outcomeOf({ _tag: "TimedOut" }))
        assert.isUndefined(outcomeOf(null))
      }))
  })
})
