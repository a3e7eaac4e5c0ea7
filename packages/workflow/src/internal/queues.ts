/**
 * Durable queues: inside a run, an item is handed over once (a journaled step that stores it with the token of
 * the deferred that will receive its result); a worker loop claims items with a lease, runs the handler and
 * completes that deferred.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type { QueueItem } from "../WorkflowStore.js"
import * as Activities from "./activities.js"
import * as Codec from "./codec.js"
import * as Deferreds from "./deferreds.js"
import type { Engine } from "./definitions.js"
import * as InvalidInput from "./invalidInput.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"
import * as Signals from "./signals.js"
import { sleepLive } from "./time.js"

/** What the runtime knows of a queue. */
export interface QueueDef {
  readonly name: string
  readonly codec: Codec.Codec
}

const enqueueCodec = Codec.make(undefined, Schema.Void, Schema.Never)

/** Hands `payload` (under `key`) to the queue's workers once and waits, durably, for the handler's result. */
export const process = (run: Run, queue: QueueDef, key: string, payload: unknown): Effect.Effect<unknown, unknown, any> => {
  const deferred = Names.queueResult(queue.name, key)
  const result = Effect.map(Deferreds.await_(run, deferred, queue.codec), Option.getOrThrow)
  if (Deferreds.isStored(run, deferred)) return result
  const encoded = queue.codec.encodePayload(payload)
  if (Result.isFailure(encoded)) {
    return Effect.die(
      InvalidInput.invalid("InvalidPayload", `The item for queue "${queue.name}"`, encoded.failure, {
        workflow: run.def.name,
        executionId: run.executionId
      })
    )
  }
  const engine = run.engine
  const enqueue = Effect.flatMap(Clock.currentTimeMillis, (enqueuedAt) =>
    Effect.tap(
      engine.store.enqueue({
        queue: queue.name,
        itemId: `${run.executionId}/${key}`,
        payload: encoded.success,
        token: Signals.sign(engine, run.def.name, run.executionId, deferred),
        enqueuedAt
      }),
      () => Effect.sync(() => Signals.notifyQueue(engine, queue.name))
    )
  )
  return Effect.andThen(
    Activities.activity(run, {
      name: Names.enqueue(queue.name, key),
      codec: enqueueCodec,
      // Tried again while the database does not answer; then the run stops unrecorded (never a defect).
      execute: run.persist(enqueue),
      retry: undefined
    }),
    result
  )
}

/**
 * Runs `handler` for the queue's items, up to `concurrency` at once, until `scope` closes. An item whose
 * handler is interrupted (shutdown) stays queued and is taken again after its lease.
 */
export const worker = <R>(
  engine: Engine,
  queue: QueueDef,
  handler: (payload: unknown) => Effect.Effect<unknown, unknown, R>,
  context: Context.Context<Exclude<R, Scope.Scope>>,
  concurrency: number
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { store, settings } = engine
    // Services only: a handler's scope is its item's (`Effect.scoped` below), not the worker Layer's.
    const handlerContext = Context.omit(Scope.Scope)(context) as Context.Context<Exclude<R, Scope.Scope>>
    const scope = yield* Effect.scope
    const signal = yield* Signals.queueSignal(engine, queue.name)
    const semaphore = yield* Semaphore.make(concurrency)
    const wait = settings.pollIntervalMs === undefined ? signal : Effect.raceFirst(signal, sleepLive(settings.pollIntervalMs))

    // A handler that outlives the item's lease keeps it, so no second worker takes it meanwhile.
    const keepClaim = (item: QueueItem, every: number) =>
      Effect.forever(
        Effect.andThen(
          sleepLive(every),
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            // Uninterruptible: cancelling a statement in flight can hit the next one on its connection.
            Effect.ignore(Effect.uninterruptible(store.renewQueueItem(queue.name, item.itemId, engine.owner, now)))
          )
        )
      )

    const handle = (item: QueueItem) =>
      Effect.gen(function* () {
        if (settings.heartbeatMs !== undefined) yield* Effect.forkScoped(keepClaim(item, settings.heartbeatMs))
        const payload = queue.codec.decodePayload(item.payload)
        const exit: Exit.Exit<unknown, unknown> = Result.isFailure(payload)
          ? Exit.die(InvalidInput.invalid("InvalidPayload", `The item for queue "${queue.name}"`, payload.failure, {}))
          : yield* Effect.exit(
              Effect.provideContext(handler(payload.success), handlerContext) as Effect.Effect<unknown, unknown, Scope.Scope>
            )
        if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return
        let encoded = queue.codec.encodeExit(exit)
        if (Result.isFailure(encoded)) {
          const error = InvalidInput.invalid("InvalidResult", `The result of queue "${queue.name}"`, encoded.failure, {})
          encoded = queue.codec.encodeExit(Exit.die(error))
        }
        const { deferred, executionId, workflow } = yield* Signals.verify(engine, item.token)
        yield* Signals.completeDeferred(engine, executionId, deferred, Result.getOrThrow(encoded), workflow).pipe(
          // Its execution is gone (purged once it ended): nobody awaits the result, and the item is done with.
          Effect.catchIf(
            (error) => error.reason === "ExecutionNotFound",
            () => Effect.logInfo(`Weft: queue "${queue.name}" item ${item.itemId}: its execution no longer exists (purged)`)
          )
        )
        // Fenced by owner: when another worker took the item over meanwhile, its handler acks it instead.
        const acked = yield* store.ackQueueItem(queue.name, item.itemId, engine.owner)
        if (!acked) yield* Effect.logDebug(`Weft: queue "${queue.name}" item ${item.itemId} was taken over; not acked here`)
      }).pipe(Effect.scoped)

    const next = Effect.gen(function* () {
      yield* semaphore.take(1)
      const items = yield* store
        .claimQueueItems(queue.name, engine.owner, 1, yield* Clock.currentTimeMillis)
        .pipe(Effect.onError(() => semaphore.release(1)))
      const item = items[0]
      if (item === undefined) {
        yield* semaphore.release(1)
        return yield* wait
      }
      yield* Effect.forkIn(
        handle(item).pipe(
          Effect.catchCause((cause) => Effect.logError(`Weft: queue "${queue.name}" item ${item.itemId} failed`, cause)),
          Effect.ensuring(semaphore.release(1))
        ),
        scope
      )
    })
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.catchCause(next, (cause) =>
          Effect.andThen(Effect.logError(`Weft: queue "${queue.name}" worker failed; retrying`, cause), sleepLive(1_000))
        )
      )
    )
  })
