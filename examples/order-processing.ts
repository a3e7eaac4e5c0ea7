/**
 * Order processing, durable on the embedded SQLite default: reserve stock, charge the card, wait
 * out a cancellation window (a durable timer that survives restarts), then confirm. A cancel
 * signal during the window fails the order, and compensations refund the charge and release the stock.
 *
 *   npx tsx --conditions=@weft/source examples/order-processing.ts   # run one order to the end
 *   WEFT_CRASH_AFTER=charge-card npx tsx --conditions=@weft/source examples/order-processing.ts   # die after the charge
 */
import { Activity, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { TestHooks } from "@weft/workflow"
import { Console, Effect, Layer, Option, Schema } from "effect"

// The workflow: its payload, result and typed error are schemas, so everything stored is typed.
export const ProcessOrder = Workflow.make({
  name: "ProcessOrder",
  payload: { orderId: Schema.String, sku: Schema.String, amountCents: Schema.Int },
  success: Schema.Struct({ orderId: Schema.String, chargeId: Schema.String }),
  error: Schema.Union([
    Schema.TaggedStruct("PaymentDeclined", { reason: Schema.String }),
    Schema.TaggedStruct("OrderCancelled", { reason: Schema.String })
  ]),
  idempotencyKey: ({ orderId }) => orderId
})

// A signal from outside (a customer clicking "cancel"), completed by token from any process.
export const CancelOrder = DurableDeferred.make("cancel-order", { success: Schema.Struct({ reason: Schema.String }) })

const log = (line: string) => Console.log(`  [pid ${process.pid}] ${line}`)

export const ProcessOrderLive = ProcessOrder.toLayer(({ orderId, sku, amountCents }) =>
  Effect.gen(function* () {
    const reservation = yield* Activity.make({
      name: "reserve-stock",
      success: Schema.String,
      execute: Effect.as(log(`reserving ${sku}`), `res-${orderId}`)
    }).pipe(Workflow.withCompensation((id) => log(`releasing reservation ${id}`)))

    const chargeId = yield* Activity.make({
      name: "charge-card",
      success: Schema.String,
      error: Schema.TaggedStruct("PaymentDeclined", { reason: Schema.String }),
      // The key is the same on every attempt: a payment API dedupes a retried charge with it.
      execute: Effect.gen(function* () {
        const key = yield* Activity.idempotencyKey("charge-card")
        yield* log(`charging ${amountCents} cents (idempotency key ${key.slice(0, 8)}…)`)
        return `ch-${orderId}`
      })
    }).pipe(Workflow.withCompensation((id) => log(`refunding ${id}`)))

    // The cancellation window: a durable wait that returns None when the time is up.
    const cancelled = yield* DurableDeferred.await(CancelOrder, { timeout: "2 seconds" })
    if (Option.isSome(cancelled)) {
      // Failing runs the compensations, newest first: refund, then release the stock.
      return yield* Effect.fail({ _tag: "OrderCancelled" as const, reason: cancelled.value.reason })
    }

    yield* Activity.make({
      name: "send-confirmation",
      execute: log(`confirming order ${orderId} (reservation ${reservation})`)
    })
    return { orderId, chargeId }
  })
)

/** Dies (SIGKILL, no cleanup) right after the named activity's result is stored, to show crash-resume. */
const crashAfter = (activity: string | undefined) =>
  activity === undefined
    ? Layer.empty
    : TestHooks.layer((point, _executionId, detail) =>
        point === "activity-recorded" && detail === activity
          ? Effect.sync(() => {
              console.log(`  [pid ${process.pid}] ${activity} is stored; killing this process (SIGKILL)`)
              process.kill(process.pid, "SIGKILL")
            })
          : Effect.void
      )

/** The embedded default engine: one SQLite file under ./.weft/. */
export const EngineLive = (filename = process.env.WEFT_DB ?? ".weft/demo.db") =>
  SqliteEngine.layer({ filename, leaseMs: 1_000 }).pipe(Layer.provide(crashAfter(process.env.WEFT_CRASH_AFTER)))

const main = Effect.gen(function* () {
  const orderId = process.env.WEFT_ORDER ?? "order-1"
  const startedAt = Date.now()
  yield* Console.log(`[pid ${process.pid}] executing ProcessOrder for ${orderId}`)
  const result = yield* ProcessOrder.execute({ orderId, sku: "WEFT-MUG", amountCents: 1_500 })
  yield* Console.log(`[pid ${process.pid}] result: ${JSON.stringify(result)}`)
  const detail = yield* WorkflowEngine.detail(yield* ProcessOrder.executionId({ orderId, sku: "", amountCents: 0 }))
  if (Option.isSome(detail)) {
    for (const attempt of detail.value.attempts.filter((a) => !a.name.startsWith("@weft/"))) {
      const here = attempt.startedAt >= startedAt
      yield* Console.log(`  ${attempt.name.padEnd(18)} ${here ? "ran in this process" : "skipped: replayed from the journal"}`)
    }
  }
})

if (import.meta.url === `file://${process.argv[1]}`) {
  main.pipe(Effect.provide(ProcessOrderLive), Effect.provide(EngineLive()), Effect.runPromise).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
