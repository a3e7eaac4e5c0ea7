/**
 * `Workflow.describe` / `WorkflowShape`: a workflow's ordered steps with their schemas, found without running any
 * activity body (or any child's body), as data and as a Mermaid flowchart.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import {
  Activity,
  DurableClock,
  DurableDeferred,
  DurableQueue,
  Workflow,
  WorkflowEngine,
  WorkflowShape
} from "@weft/workflow"

describe("WorkflowShape.describe", () => {
  it.effect("gives the ordered activities, note, sleep, wait and child with their schemas, running no body", () =>
    Effect.gen(function* () {
      const shape = yield* Workflow.describe(Order, { orderId: "o-1" }, { deferreds: [Confirm] })
      assert.strictEqual(ran.count, 0)
      assert.strictEqual(shape.workflow, "DescribeOrder")
      assert.strictEqual(shape.end, "succeeded")
      assert.isUndefined(shape.stoppedAt)
      assert.deepStrictEqual(
        shape.steps.map((step) => [step._tag, titleOf(step)]),
        [
          ["Activity", "reserve"],
          ["Note", "reserved"],
          ["Sleep", "cool-off"],
          ["Wait", "confirm"],
          ["Child", "DescribeShip"],
          ["Activity", "charge"]
        ]
      )
      const [reserve, , sleep, wait, child] = shape.steps
      assert.deepStrictEqual(reserve, {
        _tag: "Activity",
        name: "reserve",
        success: {
          _tag: "JsonSchema",
          schema: {
            type: "object",
            properties: {
              sku: { type: "string" },
              count: { type: "integer", minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }
            },
            required: ["sku", "count"],
            additionalProperties: true
          }
        },
        error: { _tag: "JsonSchema", schema: { not: {} } }
      })
      assert.deepStrictEqual(sleep, { _tag: "Sleep", name: "cool-off", durationMs: 3 * 24 * 60 * 60 * 1000 })
      assert.strictEqual(wait?._tag === "Wait" && wait.success?._tag, "JsonSchema")
      assert.strictEqual(child?._tag === "Child" && child.awaited, true)
    }).pipe(Effect.provide(Live))
  )

  it.effect("stops at a wait whose definition is not given, and says so", () =>
    Effect.gen(function* () {
      const shape = yield* WorkflowShape.describe(Order, { orderId: "o-2" })
      assert.strictEqual(ran.count, 0)
      assert.strictEqual(shape.end, "suspended")
      assert.include(shape.stoppedAt, `"confirm"`)
      assert.deepStrictEqual(shape.steps.map((step) => step._tag), ["Activity", "Note", "Sleep", "Wait"])
    }).pipe(Effect.provide(Live))
  )

  it.effect("generates the payload when none is given, the same for the same seed", () =>
    Effect.gen(function* () {
      const first = yield* WorkflowShape.describe(Order, undefined, { deferreds: [Confirm], seed: "s" })
      const again = yield* WorkflowShape.describe(Order, undefined, { deferreds: [Confirm], seed: "s" })
      assert.isString((first.payload as { orderId: unknown }).orderId)
      assert.deepStrictEqual(first.payload, again.payload)
      assert.strictEqual(first.steps.length, 6)
      assert.strictEqual(ran.count, 0)
    }).pipe(Effect.provide(Live))
  )

  it.effect("gives queue hand-overs, children started without waiting and waits with a timeout", () =>
    Effect.gen(function* () {
      const shape = yield* WorkflowShape.describe(Batch, { id: "b-1" }, { queues: [Thumbnails] })
      assert.strictEqual(ran.count, 0)
      assert.strictEqual(shape.end, "succeeded")
      assert.deepStrictEqual(shape.steps.map((step) => [step._tag, titleOf(step)]), [
        ["Queue", "describe-thumbnails"],
        ["Child", "DescribeShip"],
        ["Wait", "confirm"]
      ])
      const [queue, child, wait] = shape.steps
      assert.strictEqual(queue?._tag === "Queue" && queue.key, "a.png")
      assert.strictEqual(child?._tag === "Child" && child.awaited, false)
      assert.strictEqual(wait?._tag === "Wait" && wait.timeoutMs, 60_000)
      assert.include(WorkflowShape.toMermaid(shape), `[["child: DescribeShip (not awaited)"]]`)
      assert.include(WorkflowShape.toMermaid(shape), `{{"wait: confirm (timeout 1m)"}}`)
    }).pipe(Effect.provide(Live))
  )

  it.effect("draws the shape as a Mermaid flowchart", () =>
    Effect.gen(function* () {
      const shape = yield* Workflow.describe(Order, { orderId: "o-3" }, { deferreds: [Confirm] })
      assert.strictEqual(
        WorkflowShape.toMermaid(shape),
        [
          "flowchart TD",
          `  start(["DescribeOrder"])`,
          `  s1["reserve"]`,
          `  s2>"note: reserved"]`,
          `  s3[/"sleep: cool-off (3d)"/]`,
          `  s4{{"wait: confirm"}}`,
          `  s5[["child: DescribeShip"]]`,
          `  s6["charge"]`,
          `  finish(["end: succeeded"])`,
          "  start --> s1",
          "  s1 --> s2",
          "  s2 --> s3",
          "  s3 --> s4",
          "  s4 --> s5",
          "  s5 --> s6",
          "  s6 --> finish"
        ].join("\n")
      )
    }).pipe(Effect.provide(Live))
  )
})

// ---------------------------------------------------------------------------------------------------------
// Fixtures

/** How many activity or child bodies ran: describing runs none. */
const ran = { count: 0 }

const Ship = Workflow.make({
  name: "DescribeShip",
  payload: { orderId: Schema.String },
  success: Schema.Struct({ trackingId: Schema.String }),
  idempotencyKey: ({ orderId }) => orderId
})

const Order = Workflow.make({
  name: "DescribeOrder",
  payload: { orderId: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ orderId }) => orderId
})

const Confirm = DurableDeferred.make("confirm", { success: Schema.Struct({ ok: Schema.Boolean }) })

const reserve = Activity.make({
  name: "reserve",
  success: Schema.Struct({ sku: Schema.String, count: Schema.Int }),
  execute: Effect.sync(() => (ran.count++, { sku: "MUG", count: 1 }))
})

const charge = Activity.make({ name: "charge", execute: Effect.sync(() => void ran.count++) })

const ShipLive = Ship.toLayer(({ orderId }) => Effect.sync(() => (ran.count++, { trackingId: `t-${orderId}` })))

const OrderLive = Order.toLayer(({ orderId }) =>
  Effect.gen(function* () {
    yield* reserve
    yield* Workflow.note("reserved")
    yield* DurableClock.sleep({ name: "cool-off", duration: "3 days" })
    yield* DurableDeferred.await(Confirm)
    const shipped = yield* Effect.orDie(Ship.execute({ orderId }))
    yield* charge
    return shipped.trackingId
  })
)

const Batch = Workflow.make({ name: "DescribeBatch", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

const Thumbnails = DurableQueue.make({
  name: "describe-thumbnails",
  payload: { url: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ url }) => url
})

const BatchLive = Batch.toLayer(({ id }) =>
  Effect.gen(function* () {
    yield* DurableQueue.process(Thumbnails, { url: "a.png" })
    yield* Effect.orDie(Ship.execute({ orderId: id }, { discard: true }))
    yield* DurableDeferred.await(Confirm, { timeout: "1 minute" })
  })
)

const titleOf = (step: WorkflowShape.Step): string =>
  step._tag === "Child"
    ? step.workflow
    : step._tag === "Note"
    ? step.message
    : step._tag === "Queue"
    ? step.queue
    : step.name

const Live = Layer.mergeAll(OrderLive, ShipLive, BatchLive).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))
