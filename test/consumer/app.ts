// A new user's TypeScript, type-checked by test/Consumer.test.ts (`tsc --noEmit`, strict, NodeNext) against the
// .d.ts files the packed packages ship: the public entries, the engine layers and the errors they carry.
import { SqlEngine, SqlStore } from "@weft/engine-sql"
import { SqliteClient, SqliteEngine } from "@weft/engine-sql/sqlite"
import { WorkflowProxy } from "@weft/proxy"
import { Activity, DurableClock, Workflow, WorkflowEngine, WorkflowError, type WorkflowStore } from "@weft/workflow"
import { Effect, Layer, Schema } from "effect"

const Greet = Workflow.make({
  name: "Greet",
  payload: { name: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ name }) => name
})

const GreetLive = Greet.toLayer(({ name }) =>
  Effect.gen(function* () {
    const title = yield* Activity.make({ name: "look-up-title", success: Schema.String, execute: Effect.succeed("Dr") })
    yield* DurableClock.sleep({ name: "pause", duration: "1 second" })
    return `Hello, ${title} ${name}`
  })
)

export const EngineLive: Layer.Layer<
  WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore,
  WorkflowError.WorkflowError
> = SqliteEngine.layer({ filename: ".weft/app.db", leaseMs: 5_000 })

// The engine over a client you build yourself, and the store alone.
export const OwnClientLive = SqlEngine.layer({ leaseMs: 5_000 }).pipe(
  Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }))
)
export const StoreLive = SqlStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" })))

export const program: Effect.Effect<string, WorkflowError.WorkflowError> = Greet.execute({ name: "Ada" }).pipe(
  Effect.provide(GreetLive),
  Effect.provide(EngineLive)
)

export const isWorkflowError = (u: unknown): boolean => u instanceof WorkflowError.WorkflowError

// Workflows as typed RPC, from @weft/proxy.
export class GreetRpcs extends WorkflowProxy.toRpcGroup([Greet]) {}

// @ts-expect-error a payload of the wrong type does not compile
export const wrong = Greet.execute({ name: 1 })

// @ts-expect-error the package's internal modules are not exported
export const internal = () => import("@weft/engine-sql/internal/rows.js")
