/**
 * `Workflow.describe` / `WorkflowShape`: a workflow's ordered steps with their schemas, found without running any
 * activity body (or any child's body), as data and as a Mermaid flowchart.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  Activity,
  DurableChannel,
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

  it.effect("learns a deferred's schemas from the await itself: no option needed", () =>
    Effect.gen(function* () {
      const shape = yield* WorkflowShape.describe(Order, { orderId: "o-2" })
      assert.strictEqual(ran.count, 0)
      assert.strictEqual(shape.end, "succeeded")
      assert.isUndefined(shape.stoppedAt)
      assert.deepStrictEqual(shape.steps.map((step) => step._tag), [
        "Activity",
        "Note",
        "Sleep",
        "Wait",
        "Child",
        "Activity"
      ])
      assert.deepStrictEqual(shape.steps[3], {
        _tag: "Wait",
        name: "confirm",
        success: {
          _tag: "JsonSchema",
          schema: {
            type: "object",
            properties: { ok: { type: "boolean" } },
            required: ["ok"],
            additionalProperties: true
          }
        },
        error: { _tag: "JsonSchema", schema: { not: {} } },
        timeoutMs: undefined,
        timedOut: false
      })
    }).pipe(Effect.provide(Live))
  )

  it.effect("describes a channel receive without options, with its message schema, receive by receive", () =>
    Effect.gen(function* () {
      const shape = yield* WorkflowShape.describe(Chat, { room: "r-1" })
      assert.strictEqual(ran.count, 0)
      assert.strictEqual(shape.end, "succeeded")
      assert.deepStrictEqual(shape.steps.map((step) => [step._tag, titleOf(step)]), [
        ["Receive", "describe-messages"],
        ["Receive", "describe-messages"],
        ["Activity", "reply"]
      ])
      const [first, second] = shape.steps
      assert.deepStrictEqual(first, {
        _tag: "Receive",
        channel: "describe-messages",
        index: 1,
        message: {
          _tag: "JsonSchema",
          schema: {
            type: "object",
            properties: { text: { type: "string" } },
            required: ["text"],
            additionalProperties: true
          }
        },
        timeoutMs: undefined,
        timedOut: false
      })
      assert.strictEqual(second?._tag === "Receive" && second.index, 2)
    }).pipe(Effect.provide(Live))
  )

  it.effect("describes a receive with a timeout by its message path, or by its timeout path when expired", () =>
    Effect.gen(function* () {
      const answered = yield* WorkflowShape.describe(Reminder, { id: "m-1" })
      assert.strictEqual(answered.end, "succeeded")
      assert.deepStrictEqual(answered.steps.map((step) => [step._tag, titleOf(step)]), [
        ["Receive", "describe-messages"],
        ["Activity", "reply"]
      ])
      const [receive] = answered.steps
      assert.strictEqual(receive?._tag === "Receive" && receive.timeoutMs, 60 * 60 * 1000)
      assert.strictEqual(receive?._tag === "Receive" && receive.timedOut, false)
      assert.include(WorkflowShape.toMermaid(answered), "receive: describe-messages (timeout 1h, message path)")

      const expired = yield* WorkflowShape.describe(Reminder, { id: "m-1" }, { expire: [Messages] })
      assert.strictEqual(expired.end, "succeeded")
      assert.deepStrictEqual(expired.steps.map((step) => [step._tag, titleOf(step)]), [
        ["Receive", "describe-messages"],
        ["Activity", "remind"]
      ])
      assert.strictEqual(expired.steps[0]?._tag === "Receive" && expired.steps[0].timedOut, true)
      assert.include(WorkflowShape.toMermaid(expired), "receive: describe-messages (timeout 1h, timeout path)")
      assert.strictEqual(ran.count, 0)
    }).pipe(Effect.provide(Live))
  )

  it.effect("describes a deferred await with a timeout and its schemas; a `deferreds` override steers its value", () =>
    Effect.gen(function* () {
      const shape = yield* WorkflowShape.describe(Approval, { id: "a-1" }, { deferreds: [ApproveAlways] })
      assert.strictEqual(shape.end, "succeeded")
      assert.deepStrictEqual(shape.steps.map((step) => [step._tag, titleOf(step)]), [
        ["Wait", "describe-approve"],
        ["Activity", "ship-it"]
      ])
      const [wait] = shape.steps
      assert.strictEqual(wait?._tag === "Wait" && wait.timeoutMs, 24 * 60 * 60 * 1000)
      // The listed schemas are the body's own, not the override's.
      assert.deepStrictEqual(wait?._tag === "Wait" && wait.error, {
        _tag: "JsonSchema",
        schema: {
          type: "object",
          properties: { reason: { type: "string" } },
          required: ["reason"],
          additionalProperties: true
        }
      })
      assert.deepStrictEqual(wait?._tag === "Wait" && wait.success, {
        _tag: "JsonSchema",
        schema: { type: "boolean" }
      })

      const rejected = yield* WorkflowShape.describe(Approval, { id: "a-1" }, { deferreds: [ApproveNever] })
      assert.deepStrictEqual(rejected.steps.map((step) => titleOf(step)), ["describe-approve", "archive"])
      const expired = yield* WorkflowShape.describe(Approval, { id: "a-1" }, { expire: [Approve] })
      assert.deepStrictEqual(expired.steps.map((step) => titleOf(step)), ["describe-approve", "escalate"])
      assert.strictEqual(ran.count, 0)
    }).pipe(Effect.provide(Live))
  )

  it.effect("describes a queue hand-over without options, with its item and result schemas", () =>
    Effect.gen(function* () {
      const shape = yield* WorkflowShape.describe(Batch, { id: "b-2" })
      assert.strictEqual(ran.count, 0)
      assert.strictEqual(shape.end, "succeeded")
      const [queue] = shape.steps
      assert.deepStrictEqual(queue, {
        _tag: "Queue",
        queue: "describe-thumbnails",
        key: "a.png",
        payload: {
          _tag: "JsonSchema",
          schema: {
            type: "object",
            properties: { url: { type: "string" } },
            required: ["url"],
            additionalProperties: true
          }
        },
        success: { _tag: "JsonSchema", schema: { type: "string" } },
        error: { _tag: "JsonSchema", schema: { not: {} } }
      })
    }).pipe(Effect.provide(Live))
  )

  it.effect("names each receive, wait and queue hand-over with its schemas in the Mermaid output", () =>
    Effect.gen(function* () {
      const shape = yield* WorkflowShape.describe(Everything, { id: "e-1" })
      assert.strictEqual(shape.end, "succeeded")
      assert.strictEqual(
        WorkflowShape.toMermaid(shape),
        [
          "flowchart TD",
          `  start(["DescribeEverything"])`,
          `  s1{{"receive: describe-messages<br>message: { text: string }"}}`,
          `  s2{{"receive: describe-messages #2 (timeout 5m, message path)<br>message: { text: string }"}}`,
          `  s3{{"wait: describe-approve (timeout 1d, value path)<br>success: boolean<br>error: { reason: string }"}}`,
          `  s4[("queue: describe-thumbnails<br>item: { url: string }<br>result: string")]`,
          `  finish(["end: succeeded"])`,
          "  start --> s1",
          "  s1 --> s2",
          "  s2 --> s3",
          "  s3 --> s4",
          "  s4 --> finish"
        ].join("\n")
      )
      assert.strictEqual(ran.count, 0)
    }).pipe(Effect.provide(Live))
  )

  it.effect("keeps bad input a typed error: an unregistered workflow, a payload that does not fit", () =>
    Effect.gen(function* () {
      const unregistered = yield* Effect.flip(WorkflowShape.describe(Unregistered, { id: "u-1" }))
      assert.strictEqual(unregistered.reason, "NotRegistered")
      const badPayload = yield* Effect.flip(WorkflowShape.describe(Chat, { room: 42 } as never))
      assert.strictEqual(badPayload.reason, "InvalidPayload")
      assert.strictEqual(ran.count, 0)
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
      assert.include(
        WorkflowShape.toMermaid(shape),
        `{{"wait: confirm (timeout 1m, value path)<br>success: { ok: boolean }"}}`
      )
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
          `  s4{{"wait: confirm<br>success: { ok: boolean }"}}`,
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

const Messages = DurableChannel.make("describe-messages", { message: Schema.Struct({ text: Schema.String }) })

const reply = Activity.make({ name: "reply", execute: Effect.sync(() => void ran.count++) })

const remind = Activity.make({ name: "remind", execute: Effect.sync(() => void ran.count++) })

const Chat = Workflow.make({
  name: "DescribeChat",
  payload: { room: Schema.String },
  idempotencyKey: ({ room }) => room
})

const ChatLive = Chat.toLayer(() =>
  Effect.gen(function* () {
    yield* DurableChannel.receive(Messages)
    yield* DurableChannel.receive(Messages)
    yield* reply
  })
)

const Reminder = Workflow.make({
  name: "DescribeReminder",
  payload: { id: Schema.String },
  idempotencyKey: ({ id }) => id
})

const ReminderLive = Reminder.toLayer(() =>
  Effect.gen(function* () {
    const message = yield* DurableChannel.receive(Messages, { timeout: "1 hour" })
    yield* Option.isSome(message) ? reply : remind
  })
)

const Approve = DurableDeferred.make("describe-approve", {
  success: Schema.Boolean,
  error: Schema.Struct({ reason: Schema.String })
})

/** Overrides of `Approve` that steer its value: each decodes under `Approve`'s own schema. */
const ApproveAlways = DurableDeferred.make("describe-approve", { success: Schema.Literal(true) })
const ApproveNever = DurableDeferred.make("describe-approve", { success: Schema.Literal(false) })

const shipIt = Activity.make({ name: "ship-it", execute: Effect.sync(() => void ran.count++) })
const archive = Activity.make({ name: "archive", execute: Effect.sync(() => void ran.count++) })
const escalate = Activity.make({ name: "escalate", execute: Effect.sync(() => void ran.count++) })

const Approval = Workflow.make({
  name: "DescribeApproval",
  payload: { id: Schema.String },
  idempotencyKey: ({ id }) => id
})

const ApprovalLive = Approval.toLayer(() =>
  Effect.gen(function* () {
    const approved = yield* Effect.orDie(DurableDeferred.await(Approve, { timeout: "1 day" }))
    yield* Option.isNone(approved) ? escalate : approved.value ? shipIt : archive
  })
)

const Everything = Workflow.make({
  name: "DescribeEverything",
  payload: { id: Schema.String },
  idempotencyKey: ({ id }) => id
})

const EverythingLive = Everything.toLayer(() =>
  Effect.gen(function* () {
    yield* DurableChannel.receive(Messages)
    yield* DurableChannel.receive(Messages, { timeout: "5 minutes" })
    yield* Effect.orDie(DurableDeferred.await(Approve, { timeout: "1 day" }))
    yield* DurableQueue.process(Thumbnails, { url: "b.png" })
  })
)

/** A workflow no layer registers. */
const Unregistered = Workflow.make({
  name: "DescribeUnregistered",
  payload: { id: Schema.String },
  idempotencyKey: ({ id }) => id
})

const titleOf = (step: WorkflowShape.Step): string =>
  step._tag === "Receive"
    ? step.channel
    : step._tag === "Child"
    ? step.workflow
    : step._tag === "Note"
    ? step.message
    : step._tag === "Queue"
    ? step.queue
    : step.name

const Live = Layer.mergeAll(OrderLive, ShipLive, BatchLive, ChatLive, ReminderLive, ApprovalLive, EverythingLive).pipe(
  Layer.provideMerge(WorkflowEngine.layerMemory)
)
