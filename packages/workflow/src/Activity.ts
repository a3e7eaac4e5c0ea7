/**
 * Activities: the only place a workflow touches the world. Each is named and schema-typed; its
 * result is stored once as an encoded Exit, and replays return it without running the body again.
 * The body runs at least once per attempt (a crash mid-activity runs it again), so give external
 * calls `Activity.idempotencyKey`.
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Codec from "./internal/codec.js"
import { stableId } from "./internal/hash.js"
import * as NameRules from "./internal/nameRules.js"
import * as Activities from "./internal/activities.js"
import type { ActivityDef } from "./internal/definitions.js"
import * as Names from "./internal/reserved.js"
import type { RetryPolicy } from "./internal/retry.js"
import { WorkflowInstance } from "./internal/run.js"
import type { AnySchema } from "./Workflow.js"

/** The attempt number inside an activity body: 1 first, then 2, 3… on retries. */
export const CurrentAttempt: Context.Reference<number> = Activities.CurrentAttempt

/** A durable step: `yield*` it inside a workflow. */
export interface Activity<Success extends AnySchema, Error extends AnySchema, R>
  extends Effect.Effect<Success["Type"], Error["Type"], R | WorkflowInstance> {
  readonly name: string
  readonly successSchema: Success
  readonly errorSchema: Error
  readonly execute: Effect.Effect<Success["Type"], Error["Type"], R>
  /** The retry policy, if any. */
  readonly retryPolicy: RetryPolicy | undefined
  /** Whether the body runs in the store's transaction with the write of its result. */
  readonly transactional: boolean
  /** How long one attempt may run; past it the attempt fails (a defect its retry policy retries). */
  readonly timeout: Duration.Duration | undefined
}

class ActivityImpl<Success extends AnySchema, Error extends AnySchema, R>
  extends Effectable.Class<Success["Type"], Error["Type"], R | WorkflowInstance>
  implements Activity<Success, Error, R>
{
  readonly def: ActivityDef
  constructor(
    readonly name: string,
    readonly successSchema: Success,
    readonly errorSchema: Error,
    readonly execute: Effect.Effect<Success["Type"], Error["Type"], R>,
    readonly retryPolicy: RetryPolicy | undefined,
    readonly transactional: boolean,
    readonly timeout: Duration.Duration | undefined,
    codec: Codec.Codec
  ) {
    super()
    this.def = timeout === undefined
      ? { name, codec, execute, retry: retryPolicy, transactional }
      : { name, codec, execute, retry: retryPolicy, transactional, timeoutMs: Duration.toMillis(timeout) }
  }
  asEffect(): Effect.Effect<Success["Type"], Error["Type"], R | WorkflowInstance> {
    return Effect.flatMap(WorkflowInstance, (instance) => Activities.activity(instance, this.def))
  }
}

/**
 * Defines an activity. Its name is its key in the journal, so it must be unique within an execution:
 * yielding the same activity value again returns its stored result, while a different activity under
 * a name already used (say, one per item of a loop) fails the execution with a defect naming it.
 *
 * `timeout` bounds each attempt: past it the attempt is interrupted and recorded as failed (an `ActivityTimedOut`
 * defect naming the activity, attempt and bound), and the retry policy, if any, tries again.
 *
 * @example
 * const charge = Activity.make({
 *   name: "charge",
 *   success: Schema.Struct({ chargeId: Schema.String }),
 *   execute: Effect.succeed({ chargeId: "ch_1" }),
 *   timeout: "10 seconds"
 * })
 */
export const make = <R, Success extends AnySchema = typeof Schema.Void, Error extends AnySchema = typeof Schema.Never>(options: {
  readonly name: string
  readonly success?: Success | undefined
  readonly error?: Error | undefined
  readonly execute: Effect.Effect<Success["Type"], Error["Type"], R>
  readonly timeout?: Duration.Input | undefined
}): Activity<Success, Error, R> => {
  NameRules.assertName("Activity", options.name)
  Names.assertUserName("Activity", options.name)
  const timeout = options.timeout === undefined ? undefined : checkTimeout(options.name, options.timeout)
  const success = (options.success ?? Schema.Void) as Success
  const error = (options.error ?? Schema.Never) as Error
  return new ActivityImpl(
    options.name,
    success,
    error,
    options.execute,
    undefined,
    false,
    timeout,
    Codec.make(undefined, success, error)
  )
}

/** A timeout as an activity takes it: a finite duration above zero, else a definition-time error naming it. */
const checkTimeout = (name: string, input: Duration.Input): Duration.Duration => {
  const duration = Duration.fromInput(input)
  if (duration._tag === "None" || !Duration.isFinite(duration.value) || Duration.toMillis(duration.value) <= 0) {
    throw new Error(`Activity "${name}": timeout must be a finite duration above zero (e.g. "30 seconds"), got ${String(input)}`)
  }
  return duration.value
}

/** The default backoff: exponential from 100 ms, doubling, with jitter. */
export const defaultSchedule: Schedule.Schedule<any, unknown> = Schedule.exponential("100 millis").pipe(Schedule.jittered)

/**
 * Retries an activity up to `times` more times. Every attempt is journaled with its number; the
 * wait between attempts is a durable sleep computed from `schedule`. Errors for which `while`
 * returns false fail at once.
 */
export const retry = <Success extends AnySchema, Error extends AnySchema, R>(
  activity: Activity<Success, Error, R>,
  options: {
    readonly times: number
    readonly schedule?: Schedule.Schedule<any, unknown> | undefined
    readonly while?: ((error: Error["Type"]) => boolean) | undefined
  }
): Activity<Success, Error, R> =>
  copy(activity, {
    retryPolicy: {
      times: options.times,
      schedule: options.schedule ?? defaultSchedule,
      isRetryable: options.while ?? (() => true)
    }
  })

/**
 * Makes an activity transactional: on a SQL engine its body runs inside the transaction that
 * stores its result, so the body's writes through the engine's `SqlClient` and the step's result
 * commit together or not at all (exactly-once effects on the engine's own database). A failed
 * attempt rolls its writes back. Stores without transactions run it as a plain activity.
 */
export const transactional = <Success extends AnySchema, Error extends AnySchema, R>(
  activity: Activity<Success, Error, R>
): Activity<Success, Error, R> => copy(activity, { transactional: true })

const copy = <Success extends AnySchema, Error extends AnySchema, R>(
  activity: Activity<Success, Error, R>,
  patch: { readonly retryPolicy?: RetryPolicy; readonly transactional?: boolean }
): Activity<Success, Error, R> =>
  new ActivityImpl(
    activity.name,
    activity.successSchema,
    activity.errorSchema,
    activity.execute,
    patch.retryPolicy ?? activity.retryPolicy,
    patch.transactional ?? activity.transactional,
    activity.timeout,
    (activity as ActivityImpl<Success, Error, R>).def.codec
  )

/**
 * A key stable per (execution, activity name) and equal across attempts: pass it to external APIs
 * (payments, e-mail) so a re-run attempt does not act twice.
 */
export const idempotencyKey: (name: string) => Effect.Effect<string, never, WorkflowInstance> = Effect.fnUntraced(
  function* (name: string) {
    // Asked inside activity bodies, on every attempt: untraced.
    return stableId((yield* WorkflowInstance).executionId, name)
  }
)
