/**
 * Durable queues: a workflow hands an item to a pool of workers and waits durably for its
 * result. Items are stored, claimed with a lease by workers, and answered through a deferred.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import * as Codec from "./internal/codec.js"
import { sleepLive, WorkflowInstance } from "./internal/runtime.js"
import type { AnySchema, PayloadInput, PayloadSchema } from "./Workflow.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import type { QueueItem } from "./WorkflowStore.js"

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

const enqueueCodec = Codec.make(undefined, Schema.Void, Schema.Never)

/** Hands `payload` to the queue's workers and waits, durably, for the handler's result. */
export const process = <P extends AnySchema, S extends AnySchema, E extends AnySchema>(
  self: DurableQueue<P, S, E>,
  payload: P["Type"]
): Effect.Effect<S["Type"], E["Type"], WorkflowInstance> =>
  Effect.flatMap(WorkflowInstance, (instance) => {
    const key = self.idempotencyKey(payload)
    const deferred = `@weft/queue/${self.name}/${key}`
    const result = Effect.map(instance.awaitDeferred(deferred, self.codec), Option.getOrThrow)
    if (instance.deferreds.has(deferred)) return result
    const encoded = self.codec.encodePayload(payload)
    if (Result.isFailure(encoded)) {
      return Effect.die(
        Codec.invalid("InvalidPayload", `The item for queue "${self.name}"`, encoded.failure, {
          workflow: instance.def.name,
          executionId: instance.executionId
        })
      )
    }
    const engine = instance.engine
    const enqueue = Effect.flatMap(Clock.currentTimeMillis, (enqueuedAt) =>
      Effect.tap(
        engine.store.enqueue({
          queue: self.name,
          itemId: `${instance.executionId}/${key}`,
          payload: encoded.success,
          token: engine.sign(instance.def.name, instance.executionId, deferred),
          enqueuedAt
        }),
        () => Effect.sync(() => engine.notifyQueue(self.name))
      )
    )
    return Effect.andThen(
      instance.activity({
        name: `@weft/enqueue/${self.name}/${key}`,
        codec: enqueueCodec,
        execute: Effect.orDie(enqueue),
        retry: undefined
      }),
      result
    )
  }) as any

/**
 * Runs `handler` for the queue's items, up to `concurrency` at once, as long as the layer lives.
 * An item whose handler is interrupted (shutdown) stays queued and is taken again after its lease.
 */
export const worker = <P extends AnySchema, S extends AnySchema, E extends AnySchema, R>(
  self: DurableQueue<P, S, E>,
  handler: (payload: P["Type"]) => Effect.Effect<S["Type"], E["Type"], R>,
  options: { readonly concurrency?: number | undefined } = {}
): Layer.Layer<never, never, WorkflowEngine | R> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const engine = yield* WorkflowEngine
      const context = yield* Effect.context<R>()
      const scope = yield* Effect.scope
      const signal = yield* engine.queueSignal(self.name)
      const semaphore = yield* Semaphore.make(options.concurrency ?? 1)
      const wait =
        engine.pollIntervalMs === undefined ? signal : Effect.raceFirst(signal, sleepLive(engine.pollIntervalMs))

      // A handler that outlives the item's lease keeps it, so no second worker takes it meanwhile.
      const keepClaim = (item: QueueItem, every: number) =>
        Effect.forever(
          Effect.andThen(
            sleepLive(every),
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              // Uninterruptible: cancelling a statement in flight can hit the next one on its connection.
              Effect.ignore(
                Effect.uninterruptible(engine.store.renewQueueItem(self.name, item.itemId, engine.owner, now))
              )
            )
          )
        )

      const handle = (item: QueueItem) =>
        Effect.gen(function* () {
          if (engine.heartbeatMs !== undefined) yield* Effect.forkScoped(keepClaim(item, engine.heartbeatMs))
          const payload = self.codec.decodePayload(item.payload)
          const exit: Exit.Exit<unknown, unknown> = Result.isFailure(payload)
            ? Exit.die(Codec.invalid("InvalidPayload", `The item for queue "${self.name}"`, payload.failure, {}))
            : yield* Effect.exit(Effect.provide(handler(payload.success), context))
          if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return
          let encoded = self.codec.encodeExit(exit)
          if (Result.isFailure(encoded)) {
            const error = Codec.invalid("InvalidResult", `The result of queue "${self.name}"`, encoded.failure, {})
            encoded = self.codec.encodeExit(Exit.die(error))
          }
          const { deferred, executionId, workflow } = yield* engine.verify(item.token)
          yield* engine.completeDeferred(executionId, deferred, Result.getOrThrow(encoded), workflow)
          yield* engine.store.ackQueueItem(self.name, item.itemId)
        }).pipe(Effect.scoped)

      const next = Effect.gen(function* () {
        yield* semaphore.take(1)
        const items = yield* engine.store
          .claimQueueItems(self.name, engine.owner, 1, yield* Clock.currentTimeMillis)
          .pipe(Effect.onError(() => semaphore.release(1)))
        const item = items[0]
        if (item === undefined) {
          yield* semaphore.release(1)
          return yield* wait
        }
        yield* Effect.forkIn(
          handle(item).pipe(
            Effect.catchCause((cause) => Effect.logError(`Weft: queue "${self.name}" item ${item.itemId} failed`, cause)),
            Effect.ensuring(semaphore.release(1))
          ),
          scope
        )
      })
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.catchCause(next, (cause) =>
            Effect.andThen(Effect.logError(`Weft: queue "${self.name}" worker failed; retrying`, cause), sleepLive(1_000))
          )
        )
      )
    })
  )
