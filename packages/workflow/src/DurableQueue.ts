/**
 * Durable queues: a workflow hands an item to a pool of workers and waits durably for its
 * result. Items are stored, claimed with a lease by workers, and answered through a deferred.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Codec from "./internal/codec.js"
import * as Engine from "./internal/engine.js"
import * as NameRules from "./internal/nameRules.js"
import * as Queues from "./internal/queues.js"
import { WorkflowInstance } from "./internal/run.js"
import * as Shapes from "./internal/shape.js"
import type { AnySchema, PayloadInput, PayloadSchema } from "./Workflow.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import { WorkflowError } from "./WorkflowError.js"

/** A named queue of schema-typed items. */
export interface DurableQueue<Payload extends AnySchema, Success extends AnySchema, Error extends AnySchema> {
  readonly _tag: "DurableQueue"
  readonly name: string
  readonly payloadSchema: Payload
  readonly successSchema: Success
  readonly errorSchema: Error
  /** Items with the same key, from the same execution, are handed over once. */
  readonly idempotencyKey: (payload: Payload["Type"]) => string
  readonly codec: Codec.Codec
}

/**
 * Defines a queue.
 *
 * @example
 * const Thumbnails = DurableQueue.make({
 *   name: "thumbnails",
 *   payload: { url: Schema.String },
 *   success: Schema.String,
 *   idempotencyKey: ({ url }) => url
 * })
 */
export const make = <
  const P extends PayloadInput,
  Success extends AnySchema = typeof Schema.Void,
  Error extends AnySchema = typeof Schema.Never
>(options: {
  readonly name: string
  readonly payload: P
  readonly success?: Success | undefined
  readonly error?: Error | undefined
  readonly idempotencyKey: (payload: PayloadSchema<P>["Type"]) => string
}): DurableQueue<PayloadSchema<P>, Success, Error> => {
  NameRules.assertName("Queue", options.name)
  const payloadSchema = Codec.payloadSchema(options.payload)
  const successSchema = (options.success ?? Schema.Void) as Success
  const errorSchema = (options.error ?? Schema.Never) as Error
  return {
    _tag: "DurableQueue",
    name: options.name,
    payloadSchema,
    successSchema,
    errorSchema,
    idempotencyKey: options.idempotencyKey,
    codec: Codec.make(payloadSchema, successSchema, errorSchema)
  }
}

/** Hands `payload` to the queue's workers and waits, durably, for the handler's result. */
export const process: <P extends AnySchema, S extends AnySchema, E extends AnySchema>(
  self: DurableQueue<P, S, E>,
  payload: P["Type"]
) => Effect.Effect<S["Type"], E["Type"], WorkflowInstance> = Effect.fnUntraced(function* (
  self: DurableQueue<AnySchema, AnySchema, AnySchema>,
  payload: unknown
) {
  // A step of the body, met on every replay: untraced.
  const instance = yield* WorkflowInstance
  const key = self.idempotencyKey(payload)
  // The key is part of the item's journal names: refused like a name, as a defect of the run (nothing written).
  const reason = NameRules.problem(key)
  if (reason !== undefined) {
    return yield* Effect.die(
      new WorkflowError({
        reason: "InvalidPayload",
        workflow: instance.def.name,
        executionId: instance.executionId,
        field: "idempotencyKey",
        expected: NameRules.ALLOWED,
        message: `The idempotency key ${NameRules.quote(key)} of an item for queue "${self.name}" is not allowed: ` +
          `${reason}; it must be ${NameRules.ALLOWED}`
      })
    )
  }
  if (Shapes.watching(instance)) Shapes.meet(instance, { _tag: "Queue", name: self.name, key, codec: self.codec })
  return yield* Queues.process(instance, self, key, payload)
}) as any

/**
 * Runs `handler` for the queue's items, up to `concurrency` at once, as long as the layer lives.
 * An item whose handler is interrupted (shutdown) stays queued and is taken again after its lease. A handler
 * may use `Scope`: it is the item's, closed when the handler ends.
 */
export const worker = <P extends AnySchema, S extends AnySchema, E extends AnySchema, R>(
  self: DurableQueue<P, S, E>,
  handler: (payload: P["Type"]) => Effect.Effect<S["Type"], E["Type"], R>,
  options: { readonly concurrency?: number | undefined } = {}
): Layer.Layer<never, never, WorkflowEngine | Exclude<R, Scope.Scope>> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const engine = Engine.of(yield* WorkflowEngine)
      const context = yield* Effect.context<Exclude<R, Scope.Scope>>()
      yield* Queues.worker(engine, self, handler, context, options.concurrency ?? 1)
    })
  )
