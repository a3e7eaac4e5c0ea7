/**
 * How an execution's end reaches the result waiters here (`waiters.ts`), whichever worker runs it. A run here
 * hands its result over itself; a run elsewhere is heard of through the store's notifications, with a poll of
 * every waiter from one loop as the fallback. `result` waits so for any execution, by id alone.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import { WorkflowError } from "../WorkflowError.js"
import { type EncodedExit, type ExecutionRecord, terminal } from "../WorkflowStore.js"
import * as Codec from "./codec.js"
import type { Engine } from "./definitions.js"
import * as ExitEncoding from "./exitEncoding.js"
import * as InvalidInput from "./invalidInput.js"
import { sleepLive } from "./time.js"

/** Options of `result`. */
export interface ResultOptions {
  /** Give up waiting after this long (by the `Clock`): the answer is then `Option.none()`. Default: until it ends. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * Waits for the end of an execution, by id alone, whichever worker of the store runs it: its terminal record, or
 * None when `timeout` passes first. An unknown id (or, with `workflow`, one of another workflow) is
 * `ExecutionNotFound`. An interrupted wait leaves no waiter behind.
 */
export const result = (
  engine: Engine,
  executionId: string,
  options: ResultOptions & { readonly workflow?: string | undefined } = {}
): Effect.Effect<Option.Option<ExecutionRecord>, WorkflowError> =>
  Effect.suspend(() => {
    if (engine.closed) return Effect.interrupt
    // The waiter exists before the record is read, so no end can slip between the read and the wait.
    const waiter = engine.results.join(executionId)
    return Effect.flatMap(engine.get(executionId, options.workflow), (record) => {
      // An ended execution answers whatever the timeout (0 included); only the wait is bounded.
      if (terminal.has(record.status)) return Effect.succeed(Option.some(record))
      const ended = Effect.andThen(
        watch(engine, record),
        Effect.flatMap(Deferred.await(waiter.done), (encoded) => reread(engine, record, encoded))
      )
      return options.timeout === undefined
        ? Effect.map(ended, Option.some)
        : Effect.timeoutOption(ended, options.timeout)
    }).pipe(Effect.ensuring(Effect.sync(() => engine.results.leave(executionId, waiter))))
  })

/** `result` for an execution of `workflow`, its Exit decoded with the workflow's schemas. */
export const decoded = <S extends Schema.Top, E extends Schema.Top>(
  engine: Engine,
  workflow: { readonly name: string; readonly successSchema: S; readonly errorSchema: E },
  executionId: string,
  options: ResultOptions = {}
): Effect.Effect<Option.Option<Exit.Exit<S["Type"], E["Type"]>>, WorkflowError> => {
  const codec = Codec.make(undefined, workflow.successSchema, workflow.errorSchema)
  return Effect.flatMap(result(engine, executionId, { ...options, workflow: workflow.name }), (record) => {
    if (Option.isNone(record)) return Effect.succeedNone
    const exit = codec.decodeExit(record.value.result)
    return Result.isSuccess(exit)
      ? Effect.succeed(Option.some(exit.success as Exit.Exit<S["Type"], E["Type"]>))
      : Effect.fail(
        InvalidInput.invalid("InvalidResult", "The stored result", exit.failure, {
          workflow: workflow.name,
          executionId
        })
      )
  })
}

/**
 * A live execution that no run here will hand over: on a store that announces ends (PostgreSQL), it is marked
 * watched so its end is announced; elsewhere the poll loop finds it.
 */
const watch = (engine: Engine, record: ExecutionRecord): Effect.Effect<void> =>
  engine.store.notifications === undefined || engine.scheduler.running.has(record.executionId)
    ? Effect.void
    : watchElsewhere(engine, record)

/**
 * The record of an execution that ended with `encoded`, as stored now (its status and time of end); if it is gone
 * already (purged), the record read before with that end.
 */
const reread = (engine: Engine, record: ExecutionRecord, encoded: EncodedExit) =>
  Effect.map(
    engine.store.get(record.executionId),
    (now): ExecutionRecord =>
      Option.isSome(now) && terminal.has(now.value.status)
        ? now.value
        : { ...record, status: endedAs(encoded), result: encoded }
  )

/** The status an encoded Exit ends an execution in: interrupted when its cause holds interrupts only. */
const endedAs = (encoded: EncodedExit): ExecutionRecord["status"] => {
  if (ExitEncoding.isSuccess(encoded)) return "succeeded"
  let interrupts = 0
  let others = 0
  const walk = (cause: any): void => {
    if (cause?._tag === "Interrupt") interrupts++
    else if (cause?._tag === "Sequential" || cause?._tag === "Parallel") {
      walk(cause.left)
      walk(cause.right)
    } else if (cause?._tag !== "Empty") others++
  }
  walk((encoded as { readonly cause?: unknown } | undefined)?.cause)
  return interrupts > 0 && others === 0 ? "interrupted" : "failed"
}

/** Hands the result of a finished execution to its waiters, if any wait and it has ended. */
export const notifyIfEnded = (engine: Engine, record: Option.Option<ExecutionRecord>): void => {
  if (Option.isSome(record) && terminal.has(record.value.status)) {
    engine.results.notify(record.value.executionId, record.value.result)
  }
}

/**
 * Another worker took the execution over while a waiter here waits: its end must be announced (the store's `watch`
 * marks it so), or, if it ended already, handed to the waiter now. Never a `create`: an execution purged meanwhile
 * must not come back as a new one. Gone (purged): the waiters fail with `ExecutionNotFound`.
 */
export const watchElsewhere = (engine: Engine, record: ExecutionRecord): Effect.Effect<void> =>
  Effect.ignore(
    Effect.flatMap(
      engine.store.watch !== undefined ? engine.store.watch(record.executionId) : engine.store.get(record.executionId),
      (now) =>
        Effect.sync(() =>
          Option.isSome(now)
            ? notifyIfEnded(engine, now)
            : engine.results.fail(
              record.executionId,
              new WorkflowError({
                reason: "ExecutionNotFound",
                executionId: record.executionId,
                workflow: record.workflow,
                message: `Execution ${record.executionId} was deleted (purged) while a result was awaited`
              })
            )
        )
    )
  )

/**
 * The fallback for waiters whose execution runs elsewhere (a completion NOTIFY can be missed): one
 * look-up per waiter and poll, from one loop, so a waiter costs no fiber or timer of its own.
 */
export const poll = (engine: Engine, every: number): Effect.Effect<never> =>
  Effect.forever(
    Effect.andThen(
      sleepLive(every),
      Effect.suspend(() => {
        const store = engine.store
        // A run here hands its result to the waiter itself.
        const remote = engine.results.ids().filter((executionId) => !engine.scheduler.running.has(executionId))
        if (remote.length === 0) return Effect.void
        if (store.ended === undefined) return pollEach(engine, remote)
        // One read for every waiter; should it fail (a row that no longer reads), one per waiter, so
        // the bad row fails only its own.
        return Effect.uninterruptible(store.ended(remote)).pipe(
          Effect.flatMap((ended) =>
            Effect.sync(() => {
              for (const record of ended) engine.results.notify(record.executionId, record.result)
            })
          ),
          // Effect 3's `Cause.isFailType`: the cause is that one typed error and nothing else.
          Effect.catchCause((cause) => {
            const only = cause.reasons.length === 1 ? cause.reasons[0]! : undefined
            return only !== undefined && Cause.isFailReason(only) && only.error.reason === "StoreUnavailable"
              ? Effect.void
              : pollEach(engine, remote)
          })
        )
      })
    )
  )

/** The per-waiter poll: a row that no longer reads fails its own waiters only. */
const pollEach = (engine: Engine, remote: ReadonlyArray<string>) =>
  Effect.forEach(
    remote,
    (executionId) =>
      // Uninterruptible: @effect/sql-pg cancels an interrupted statement by backend pid, which can hit the
      // next statement on that connection.
      Effect.uninterruptible(engine.store.get(executionId)).pipe(
        Effect.catchDefect((defect) =>
          Effect.as(Effect.logWarning(`Weft: could not poll the result of ${executionId}`, defect), Option.none())
        ),
        Effect.match({
          // A stored row that no longer reads fails its waiters; an unreachable store is tried again.
          onFailure: (error) => {
            if (error.reason !== "StoreUnavailable") engine.results.fail(executionId, error)
          },
          onSuccess: (record) => notifyIfEnded(engine, record)
        })
      ),
    { concurrency: 4, discard: true }
  )
