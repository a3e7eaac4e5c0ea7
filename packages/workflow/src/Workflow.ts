/**
 * Durable workflows: a named, schema-typed body whose every step is journaled, so that after a
 * crash, deploy or long wait it re-runs from the top and fast-forwards through stored results.
 */
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result_ from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Scope from "effect/Scope"
import * as Children from "./internal/children.js"
import * as Codec from "./internal/codec.js"
import * as Compensation from "./internal/compensation.js"
import * as Engine from "./internal/engine.js"
import { stableId } from "./internal/hash.js"
import * as NameRules from "./internal/nameRules.js"
import * as Notes from "./internal/notes.js"
import * as Patches from "./internal/patches.js"
import * as Results from "./internal/results.js"
import { WorkflowInstance } from "./internal/run.js"
import * as Starts from "./internal/starts.js"
import * as Telemetry from "./internal/telemetry.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import { WorkflowError } from "./WorkflowError.js"
import * as WorkflowShape from "./WorkflowShape.js"
import { terminal } from "./WorkflowStore.js"

export { WorkflowInstance }

/** Any schema (its `Type` and `Encoded` sides are read; decoding and encoding need no services). */
export type AnySchema = Schema.Top

/** `Workflow.make`'s `payload`: a struct's fields or a schema. */
export type PayloadInput = Schema.Struct.Fields | AnySchema

/** The schema `Workflow.make` builds from its `payload` input. */
export type PayloadSchema<P extends PayloadInput> = P extends AnySchema
  ? P
  : P extends Schema.Struct.Fields
  ? Schema.Struct<P>
  : never

/** Where an execution stands when polled: finished with its Exit, or suspended waiting for the world. */
export type Result<A, E> = Complete<A, E> | Suspended

/** A finished execution and its Exit. */
export class Complete<A, E> extends Data.TaggedClass("Complete")<{ readonly exit: Exit.Exit<A, E> }> {}

/** A suspended execution: it holds no fiber; a signal, timer or resume wakes it. */
export class Suspended extends Data.TaggedClass("Suspended")<{}> {}

/** A durable workflow definition. */
export interface Workflow<Name extends string, Payload extends AnySchema, Success extends AnySchema, Error extends AnySchema> {
  readonly _tag: "Workflow"
  readonly name: Name
  /** The version its new executions record and run on to their end (`Workflow.make({ version })`; default 1). */
  readonly version: number
  readonly payloadSchema: Payload
  readonly successSchema: Success
  readonly errorSchema: Error
  /** The stable key of a payload: same key, same execution. */
  readonly idempotencyKey: (payload: Payload["Type"]) => string
  /**
   * Runs the workflow for `payload` and waits for its result. The same payload joins the run in
   * flight or returns the stored result. With `{ discard: true }` returns the execution id at once.
   * Inside another workflow it starts a linked child and waits for it durably. `deadline`: this execution's own
   * deadline from its start (replacing the workflow's), stored with it; a start that joins an existing execution
   * keeps the deadline that one has.
   */
  readonly execute: {
    (
      payload: Payload["Type"],
      options?: { readonly discard?: false | undefined; readonly deadline?: Duration.Input | undefined }
    ): Effect.Effect<Success["Type"], Error["Type"] | WorkflowError, WorkflowEngine>
    (
      payload: Payload["Type"],
      options: { readonly discard: true; readonly deadline?: Duration.Input | undefined }
    ): Effect.Effect<string, WorkflowError, WorkflowEngine>
  }
  /**
   * The execution id for a payload (name + this definition's idempotency key), without starting anything. A start
   * keys by the version it runs: keep one key function across versions and the two agree.
   */
  readonly executionId: (payload: Payload["Type"]) => Effect.Effect<string>
  /** None while running; the result when complete; `Suspended` while waiting. Fails when the id is unknown. */
  readonly poll: (
    executionId: string
  ) => Effect.Effect<Option.Option<Result<Success["Type"], Error["Type"]>>, WorkflowError, WorkflowEngine>
  /** Interrupts the execution: compensations run and it ends as interrupted. */
  readonly interrupt: (executionId: string) => Effect.Effect<void, WorkflowError, WorkflowEngine>
  /** Schedules a suspended execution again, or re-runs one that failed by a defect. */
  readonly resume: (executionId: string) => Effect.Effect<void, WorkflowError, WorkflowEngine>
  /**
   * Registers the body with the engine in context. The body may use `Scope` (`Effect.addFinalizer`,
   * `Effect.acquireRelease`): it is the execution's, closed when the execution ends (see `Workflow.scope`).
   */
  readonly toLayer: <R>(
    handler: (payload: Payload["Type"], executionId: string) => Effect.Effect<Success["Type"], Error["Type"], R>
  ) => Layer.Layer<never, never, WorkflowEngine | Exclude<R, WorkflowInstance | Scope.Scope>>
}

/** Any workflow. */
export interface Any extends Workflow<string, any, any, any> {}

/** Whether a value is a workflow definition. */
export const isWorkflow = (u: unknown): u is Any =>
  typeof u === "object" && u !== null && "_tag" in u && (u as { _tag: unknown })._tag === "Workflow"

/**
 * Defines a durable workflow.
 *
 * @example
 * const Greet = Workflow.make({
 *   name: "Greet",
 *   payload: { name: Schema.String },
 *   success: Schema.String,
 *   idempotencyKey: ({ name }) => name
 * })
 */
export const make = <
  const Name extends string,
  const P extends PayloadInput,
  Success extends AnySchema = typeof Schema.Void,
  Error extends AnySchema = typeof Schema.Never
>(options: {
  readonly name: Name
  readonly payload: P
  readonly success?: Success | undefined
  readonly error?: Error | undefined
  readonly idempotencyKey: (payload: PayloadSchema<P>["Type"]) => string
  /**
   * How long an execution may take from its start: past it, it is interrupted wherever it is (running, sleeping,
   * waiting), its compensations run and it ends `interrupted`. Durable: stored on its first run, kept across crashes.
   */
  readonly deadline?: Duration.Input | undefined
  /**
   * This definition's version, a whole number from 1 (default 1). Every execution records the version it started
   * on and runs on that version's body to its end; a worker claims only executions of versions it registered, and a
   * start runs the newest one registered. To change a body under executions in flight, define the new body as
   * version 2 under the same name and register both until version 1's executions end (`weft versions`); for a
   * small change, `Workflow.patched` keeps one body.
   */
  readonly version?: number | undefined
}): Workflow<Name, PayloadSchema<P>, Success, Error> => {
  NameRules.assertName("Workflow", options.name)
  const deadlineMs = options.deadline === undefined ? undefined : checkDeadline(options.name, options.deadline)
  const version = checkVersion(options.name, options.version)
  const payloadSchema = Codec.payloadSchema(options.payload)
  const successSchema = (options.success ?? Schema.Void) as Success
  const errorSchema = (options.error ?? Schema.Never) as Error
  const def = {
    name: options.name,
    version,
    codec: Codec.make(payloadSchema, successSchema, errorSchema),
    idempotencyKey: options.idempotencyKey,
    ...(deadlineMs === undefined ? {} : { deadlineMs })
  }

  const attributes = { "weft.workflow": options.name }
  // From outside a workflow, an entry point: in a span when an exporter would see it. The execution's Exit is
  // returned from the span and only then flattened, so its cause reaches the caller as stored (a failure inside a
  // span carries the span's stack frame). Inside a body, a child start is a step of its parent, met on every
  // replay: no span there (the parent's run span covers it).
  const start = (service: WorkflowEngine["Service"], payload: unknown, discard: boolean, deadlineMs: number | undefined) => {
    const engine = Engine.of(service)
    const started: Effect.Effect<Exit.Exit<any, any>, WorkflowError> = discard
      ? Effect.map(Starts.start(engine, def, payload, { deadlineMs }), (started) => Exit.succeed(started.executionId))
      : Starts.execute(engine, def, payload, deadlineMs)
    return Effect.flatten(Telemetry.entrySpan(engine.telemetry, started, "Workflow.execute", attributes))
  }
  const execute = (
    payload: unknown,
    opts?: { readonly discard?: boolean | undefined; readonly deadline?: Duration.Input | undefined }
  ): Effect.Effect<any, any, WorkflowEngine> =>
    Effect.flatMap(WorkflowEngine, (service) => {
      const deadlineMs = opts?.deadline === undefined ? undefined : deadlineOf(options.name, opts.deadline)
      if (deadlineMs instanceof WorkflowError) return Effect.fail(deadlineMs)
      return Effect.flatMap(Effect.serviceOption(WorkflowInstance), (parent) =>
        Option.isSome(parent)
          ? Children.execute(parent.value, def, payload, opts?.discard === true, deadlineMs)
          : start(service, payload, opts?.discard === true, deadlineMs)
      )
    })

  return {
    _tag: "Workflow",
    name: options.name,
    version,
    payloadSchema,
    successSchema,
    errorSchema,
    idempotencyKey: options.idempotencyKey,
    execute: execute as any,
    executionId: (payload) => Effect.sync(() => stableId(options.name, options.idempotencyKey(payload))),
    poll: Effect.fn("Workflow.poll", { attributes })(function* (executionId: string) {
      const record = yield* (yield* WorkflowEngine).get(executionId, def.name)
      if (terminal.has(record.status)) {
        const exit = yield* Starts.decodeResult(def, record)
        return Option.some(new Complete({ exit }) as Result<any, any>)
      }
      return record.status === "suspended" ? Option.some<Result<any, any>>(new Suspended()) : Option.none()
    }),
    interrupt: Effect.fn("Workflow.interrupt", { attributes })(function* (executionId: string) {
      return yield* (yield* WorkflowEngine).interrupt(executionId, def.name)
    }),
    resume: Effect.fn("Workflow.resume", { attributes })(function* (executionId: string) {
      return yield* (yield* WorkflowEngine).resume(executionId, def.name)
    }),
    toLayer: (handler) =>
      Layer.effectDiscard(
        Effect.flatMap(WorkflowEngine, (service) =>
          Effect.flatMap(Effect.context<never>(), (context) =>
            // Services only: the Layer's own scope is not the body's (each execution gets its own).
            Engine.of(service).register({ def, handler, context: Context.omit(Scope.Scope)(context) })
          )
        )
      ) as any
  }
}

/** A version as a workflow takes it: a whole number from 1 (absent: 1), else a definition-time error naming it. */
const checkVersion = (name: string, version: unknown): number => {
  if (version === undefined) return 1
  if (typeof version === "number" && Number.isSafeInteger(version) && version >= 1 && version <= 2_147_483_647) {
    return version
  }
  throw new Error(
    `Workflow "${name}": version must be a whole number from 1 to 2147483647 (e.g. 2), got ${
      typeof version === "string" ? JSON.stringify(version) : String(version)
    }`
  )
}

/** A deadline in milliseconds: a finite duration above zero, else the message saying what is expected. */
const deadlineMillis = (name: string, input: Duration.Input): number | string => {
  const duration = Duration.fromInput(input)
  if (duration._tag === "None" || !Duration.isFinite(duration.value) || Duration.toMillis(duration.value) <= 0) {
    return `Workflow "${name}": deadline must be a finite duration above zero (e.g. "1 hour"), got ${String(input)}`
  }
  return Duration.toMillis(duration.value)
}

/** A deadline as a workflow takes it, else a definition-time error naming it. */
const checkDeadline = (name: string, input: Duration.Input): number => {
  const ms = deadlineMillis(name, input)
  if (typeof ms === "string") throw new Error(ms)
  return ms
}

/** A deadline as a start takes it, else a typed error naming the field; nothing is written. */
const deadlineOf = (name: string, input: Duration.Input): number | WorkflowError => {
  const ms = deadlineMillis(name, input)
  return typeof ms === "number"
    ? ms
    : new WorkflowError({ reason: "InvalidPayload", workflow: name, field: "deadline", expected: "a finite duration above zero", message: ms })
}

/**
 * Registers a compensation for `effect`'s result. If the execution finally fails or is
 * interrupted, compensations run newest first, each exactly once.
 */
export const withCompensation: {
  <A, R2>(
    compensate: (value: A, cause: Cause.Cause<unknown>) => Effect.Effect<void, never, R2>
  ): <E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R2 | WorkflowInstance>
  <A, E, R, R2>(
    effect: Effect.Effect<A, E, R>,
    compensate: (value: A, cause: Cause.Cause<unknown>) => Effect.Effect<void, never, R2>
  ): Effect.Effect<A, E, R | R2 | WorkflowInstance>
} = dual(
  2,
  <A, E, R, R2>(
    effect: Effect.Effect<A, E, R>,
    compensate: (value: A, cause: Cause.Cause<unknown>) => Effect.Effect<void, never, R2>
  ): Effect.Effect<A, E, R | R2 | WorkflowInstance> => compensated(effect, compensate)
)

// A step of the body, met on every replay: untraced.
const compensated = Effect.fnUntraced(function* <A, E, R, R2>(
  effect: Effect.Effect<A, E, R>,
  compensate: (value: A, cause: Cause.Cause<unknown>) => Effect.Effect<void, never, R2>
): Effect.fn.Return<A, E, R | R2 | WorkflowInstance> {
  const instance = yield* WorkflowInstance
  const value = yield* effect
  Compensation.add(instance, (cause) => compensate(value, cause))
  return value
})

/**
 * The running execution's scope. It closes once, with the execution's Exit, when the execution ends (succeeds,
 * fails or is interrupted), after its compensations and before its end is stored; never when it suspends or
 * when a worker's Layer closes. Every run replays the body from the top, so what the body acquires is acquired
 * again on each run and released once, at the end, and a fiber forked into it (`Effect.forkScoped`) lives until
 * the execution ends in this process: keep work with effects in activities. An execution that failed by a
 * defect and is resumed ends again: its finalizers run at each end.
 */
export const scope: Effect.Effect<Scope.Scope, never, WorkflowInstance> = Effect.map(
  WorkflowInstance,
  (instance) => instance.scope
)

/**
 * Runs `finalizer` with the execution's Exit when the execution ends: a terminal-state hook (notify, clean up).
 * At least once: a crash after it ran and before the end was stored runs it again.
 *
 * @example
 * yield* Workflow.addFinalizer((exit) => Effect.log(`order ended: ${exit._tag}`))
 */
export const addFinalizer: <R>(
  finalizer: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void, never, R>
) => Effect.Effect<void, never, WorkflowInstance | R> = Effect.fnUntraced(function* <R>(
  finalizer: (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void, never, R>
): Effect.fn.Return<void, never, WorkflowInstance | R> {
  // Called by the body on every replay: untraced.
  const instance = yield* WorkflowInstance
  return yield* Effect.provideService(Effect.addFinalizer(finalizer), Scope.Scope, instance.scope)
})

/**
 * Writes a note into the execution's trace, once: a replay does not write it again. For what the body wants an
 * operator to see (`weft show`, `WorkflowEngine.trace`); `data` must be JSON data (a defect otherwise).
 *
 * @example
 * yield* Workflow.note("fraud check skipped: trusted customer", { customerId })
 */
export const note = (message: string, data?: unknown): Effect.Effect<void, never, WorkflowInstance> =>
  Effect.flatMap(WorkflowInstance, (run) => Notes.write(run, message, data))

/**
 * Ships a change under running executions: true for an execution that reaches this point under the new code, false
 * for one that already went past it under the old code and is replaying its journal. The answer is journaled the
 * first time, so every later replay gives the same one. Decided for sequential code: a patch inside concurrent
 * branches may see the other branches' steps as not yet replayed and answer false (the old path, always replayable).
 *
 * @example
 * if (yield* Workflow.patched("send-receipt")) yield* sendReceipt // new code; older executions skip it
 */
export const patched = (patchId: string): Effect.Effect<boolean, never, WorkflowInstance> =>
  Effect.flatMap(WorkflowInstance, (run) => Patches.patched(run, patchId))

/**
 * The cleanup once every execution that took a patch's old path has ended: replace `if (yield* patched(id))` by
 * `yield* deprecatePatch(id)` and keep only the new path. An execution that still stored the old path dies with
 * `NonDeterminismError` naming the patch instead of silently taking the new one. Stores nothing.
 */
export const deprecatePatch = (patchId: string): Effect.Effect<void, never, WorkflowInstance> =>
  Effect.flatMap(WorkflowInstance, (run) => Patches.deprecate(run, patchId))

/** The id of the execution whose body is running. */
export const currentExecutionId: Effect.Effect<string, never, WorkflowInstance> = Effect.map(
  WorkflowInstance,
  (instance) => instance.executionId
)

/**
 * The schema of an Exit in the form the engine stores it (and the proxy sends it): effect 3's
 * `Schema.Exit` encoding, `{"_tag":"Success","value":…}` or `{"_tag":"Failure","cause":{"_tag":"Fail","error":…}}`,
 * with defects as effect 3's `Schema.Defect` wrote them. The encoded side is JSON data.
 *
 * @example
 * const PollAnswer = Schema.Struct({ exit: Workflow.exitSchema(Schema.String, Schema.Never) })
 */
export const exitSchema = <S extends AnySchema, E extends AnySchema>(
  success: S,
  error: E
): Schema.Codec<Exit.Exit<S["Type"], E["Type"]>, Schema.Json> => {
  const codec = Codec.make(undefined, success, error)
  return Schema.Json.pipe(
    Schema.decodeTo(
      Schema.declare((u): u is Exit.Exit<S["Type"], E["Type"]> => Exit.isExit(u), { expected: "Exit" }),
      SchemaTransformation.transformEffect({
        decode: (encoded) =>
          Result_.match(codec.decodeExit(encoded), {
            onFailure: (error) => Effect.fail(error.issue),
            onSuccess: (exit) => Effect.succeed(exit as Exit.Exit<S["Type"], E["Type"]>)
          }),
        encode: (exit) =>
          Result_.match(codec.encodeExit(exit), {
            onFailure: (error) => Effect.fail(error.issue),
            // A void success has no `value` key in JSON: left out here too, so the value is JSON data.
            onSuccess: (encoded) => Effect.succeed(withoutUndefined(encoded) as Schema.Json)
          })
      })
    )
  )
}

/** An encoded Exit without the keys whose value is undefined (what JSON text would leave out). */
const withoutUndefined = (encoded: unknown): unknown => {
  if (typeof encoded !== "object" || encoded === null) return encoded
  if (Array.isArray(encoded)) return encoded.map(withoutUndefined)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(encoded)) if (value !== undefined) out[key] = withoutUndefined(value)
  return out
}

/**
 * The static shape of a workflow (its ordered activities, sleeps, waits, queues, children and notes, with their
 * schemas) without running any activity body: `WorkflowShape.describe`, whose doc says how values are generated and
 * which path a branch takes. `WorkflowShape.toMermaid` draws it.
 *
 * @example
 * const shape = yield* Workflow.describe(ProcessOrder, { orderId: "o-1", sku: "MUG", amountCents: 100 })
 */
export const describe = WorkflowShape.describe

/** The execution id for (workflow name, idempotency key): the documented, stable algorithm. */
export const executionIdFor = (workflow: string, idempotencyKey: string): string => stableId(workflow, idempotencyKey)

/**
 * Waits for the result of an execution of `workflow` by id, from any process, without its payload: its Exit, or
 * None once `timeout` passes. An id of no execution of this workflow fails with `ExecutionNotFound`.
 *
 * @example
 * const exit = yield* Workflow.result(Greet, executionId, { timeout: "30 seconds" })
 */
export const result = <S extends AnySchema, E extends AnySchema>(
  workflow: Workflow<string, any, S, E>,
  executionId: string,
  options?: Results.ResultOptions
): Effect.Effect<Option.Option<Exit.Exit<S["Type"], E["Type"]>>, WorkflowError, WorkflowEngine> =>
  Effect.flatMap(WorkflowEngine, (service) => Results.decoded(Engine.of(service), workflow, executionId, options))
