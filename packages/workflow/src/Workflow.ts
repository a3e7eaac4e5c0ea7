/**
 * Durable workflows: a named, schema-typed body whose every step is journaled, so that after a
 * crash, deploy or long wait it re-runs from the top and fast-forwards through stored results.
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result_ from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Codec from "./internal/codec.js"
import { stableId } from "./internal/hash.js"
import { CHILD_RESULT, CHILD_START, type Instance, WorkflowInstance } from "./internal/runtime.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import { WorkflowError } from "./WorkflowError.js"
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
  readonly payloadSchema: Payload
  readonly successSchema: Success
  readonly errorSchema: Error
  /** The stable key of a payload: same key, same execution. */
  readonly idempotencyKey: (payload: Payload["Type"]) => string
  /**
   * Runs the workflow for `payload` and waits for its result. The same payload joins the run in
   * flight or returns the stored result. With `{ discard: true }` returns the execution id at once.
   * Inside another workflow it starts a linked child and waits for it durably.
   */
  readonly execute: {
    (payload: Payload["Type"], options?: { readonly discard?: false | undefined }): Effect.Effect<
      Success["Type"],
      Error["Type"] | WorkflowError,
      WorkflowEngine
    >
    (payload: Payload["Type"], options: { readonly discard: true }): Effect.Effect<string, WorkflowError, WorkflowEngine>
  }
  /** The execution id for a payload (name + idempotency key), without starting anything. */
  readonly executionId: (payload: Payload["Type"]) => Effect.Effect<string>
  /** None while running; the result when complete; `Suspended` while waiting. Fails when the id is unknown. */
  readonly poll: (
    executionId: string
  ) => Effect.Effect<Option.Option<Result<Success["Type"], Error["Type"]>>, WorkflowError, WorkflowEngine>
  /** Interrupts the execution: compensations run and it ends as interrupted. */
  readonly interrupt: (executionId: string) => Effect.Effect<void, WorkflowError, WorkflowEngine>
  /** Schedules a suspended execution again, or re-runs one that failed by a defect. */
  readonly resume: (executionId: string) => Effect.Effect<void, WorkflowError, WorkflowEngine>
  /** Registers the body with the engine in context. */
  readonly toLayer: <R>(
    handler: (payload: Payload["Type"], executionId: string) => Effect.Effect<Success["Type"], Error["Type"], R>
  ) => Layer.Layer<never, never, WorkflowEngine | Exclude<R, WorkflowInstance>>
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
}): Workflow<Name, PayloadSchema<P>, Success, Error> => {
  const payloadSchema = Codec.payloadSchema(options.payload)
  const successSchema = (options.success ?? Schema.Void) as Success
  const errorSchema = (options.error ?? Schema.Never) as Error
  const def = {
    name: options.name,
    codec: Codec.make(payloadSchema, successSchema, errorSchema),
    idempotencyKey: options.idempotencyKey
  }

  const execute = (payload: unknown, opts?: { readonly discard?: boolean | undefined }): Effect.Effect<any, any, WorkflowEngine> =>
    Effect.flatMap(WorkflowEngine, (engine) =>
      Effect.flatMap(Effect.serviceOption(WorkflowInstance), (parent) => {
        if (Option.isSome(parent)) return child(parent.value, payload, opts?.discard === true)
        if (opts?.discard === true) return Effect.map(engine.start(def, payload), (s) => s.executionId)
        return engine.execute(def, payload)
      })
    )

  const child = (parent: Instance, payload: unknown, discard: boolean): Effect.Effect<any, any> => {
    const engine = parent.engine
    if (!engine.isRegistered(def.name)) {
      return Effect.fail(
        new WorkflowError({
          reason: "NotRegistered",
          workflow: def.name,
          message: `Workflow "${def.name}" is not registered with this engine: provide its layer`
        })
      )
    }
    const encoded = def.codec.encodePayload(payload)
    if (Result_.isFailure(encoded)) {
      return Effect.fail(Codec.invalid("InvalidPayload", "The payload", encoded.failure, { workflow: def.name }))
    }
    const childId = stableId(def.name, def.idempotencyKey(payload))
    const deferred = `${CHILD_RESULT}${def.name}/${childId}`
    const link = discard ? undefined : { executionId: parent.executionId, deferred }
    parent.askedChildren.add(childId)
    const started = parent.activity({
      name: `${CHILD_START}${def.name}/${childId}`,
      codec: startCodec,
      execute: Effect.orDie(Effect.as(engine.start(def, payload, link), childId)),
      retry: undefined
    }) as Effect.Effect<string>
    if (discard) return started
    return Effect.andThen(started, Effect.map(parent.awaitDeferred(deferred, def.codec), Option.getOrThrow))
  }

  return {
    _tag: "Workflow",
    name: options.name,
    payloadSchema,
    successSchema,
    errorSchema,
    idempotencyKey: options.idempotencyKey,
    execute: execute as any,
    executionId: (payload) => Effect.sync(() => stableId(options.name, options.idempotencyKey(payload))),
    poll: (executionId) =>
      Effect.flatMap(WorkflowEngine, (engine) =>
        Effect.flatMap(engine.get(def.name, executionId), (record) => {
          if (terminal.has(record.status)) {
            return Effect.map(engine.decodeResult(def, record), (exit) => Option.some(new Complete({ exit }) as any))
          }
          return Effect.succeed(record.status === "suspended" ? Option.some(new Suspended()) : Option.none())
        })
      ),
    interrupt: (executionId) => Effect.flatMap(WorkflowEngine, (engine) => engine.interrupt(def.name, executionId)),
    resume: (executionId) => Effect.flatMap(WorkflowEngine, (engine) => engine.resume(def.name, executionId)),
    toLayer: (handler) =>
      Layer.effectDiscard(
        Effect.flatMap(WorkflowEngine, (engine) =>
          Effect.flatMap(Effect.context<never>(), (context) => engine.register({ def, handler, context }))
        )
      ) as any
  }
}

const startCodec = Codec.make(undefined, Schema.String, Schema.Never)

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
  ): Effect.Effect<A, E, R | R2 | WorkflowInstance> =>
    Effect.flatMap(WorkflowInstance, (instance) =>
      Effect.tap(effect, (value) => Effect.sync(() => instance.addCompensation((cause) => compensate(value, cause))))
    )
)

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

/** The execution id for (workflow name, idempotency key): the documented, stable algorithm. */
export const executionIdFor = (workflow: string, idempotencyKey: string): string => stableId(workflow, idempotencyKey)
