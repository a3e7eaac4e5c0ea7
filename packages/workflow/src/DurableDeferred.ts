/**
 * Durable deferreds: a workflow waits for a value from outside (a webhook, a human approval).
 * Completion is stored first-wins, whether or not anyone awaits yet; an awaiting execution
 * suspends and holds no fiber until it arrives.
 */
import type * as Brand from "effect/Brand"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Codec from "./internal/codec.js"
import * as Deferreds from "./internal/deferreds.js"
import * as Engine from "./internal/engine.js"
import * as InvalidInput from "./internal/invalidInput.js"
import * as NameRules from "./internal/nameRules.js"
import * as Names from "./internal/reserved.js"
import { WorkflowInstance } from "./internal/run.js"
import * as Shapes from "./internal/shape.js"
import * as Signals from "./internal/signals.js"
import * as Tokens from "./internal/token.js"
import type { AnySchema } from "./Workflow.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import { WorkflowError } from "./WorkflowError.js"

/** A named slot, per execution, for one result from outside. */
export interface DurableDeferred<Success extends AnySchema, Error extends AnySchema> {
  readonly _tag: "DurableDeferred"
  readonly name: string
  readonly successSchema: Success
  readonly errorSchema: Error
  readonly codec: Codec.Codec
}

/** Any deferred. */
export interface Any extends DurableDeferred<AnySchema, AnySchema> {}

/**
 * Defines a deferred. The name is unique within a workflow.
 *
 * @example
 * const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ approved: Schema.Boolean }) })
 */
export const make = <Success extends AnySchema = typeof Schema.Void, Error extends AnySchema = typeof Schema.Never>(
  name: string,
  options: { readonly success?: Success | undefined; readonly error?: Error | undefined } = {}
): DurableDeferred<Success, Error> => {
  NameRules.assertName("Deferred", name)
  Names.assertUserName("Deferred", name)
  const successSchema = (options.success ?? Schema.Void) as Success
  const errorSchema = (options.error ?? Schema.Never) as Error
  return { _tag: "DurableDeferred", name, successSchema, errorSchema, codec: Codec.make(undefined, successSchema, errorSchema) }
}

/**
 * Waits for the deferred. With `timeout`, the wait is itself durable: the result is `None` once
 * it passes, and a later completion is reported, not applied.
 */
export const await_: {
  <S extends AnySchema, E extends AnySchema>(self: DurableDeferred<S, E>): Effect.Effect<S["Type"], E["Type"], WorkflowInstance>
  <S extends AnySchema, E extends AnySchema>(
    self: DurableDeferred<S, E>,
    options: { readonly timeout: Duration.Input }
  ): Effect.Effect<Option.Option<S["Type"]>, E["Type"], WorkflowInstance>
} = Effect.fnUntraced(function* (self: Any, options?: { readonly timeout: Duration.Input }) {
  // A step of the body, met on every replay: untraced.
  const instance = yield* WorkflowInstance
  const timeoutMs = options === undefined ? undefined : Duration.toMillis(options.timeout)
  if (Shapes.watching(instance)) Shapes.meet(instance, { _tag: "Deferred", name: self.name, codec: self.codec, timeoutMs })
  if (timeoutMs === undefined) return Option.getOrThrow(yield* Deferreds.await_(instance, self.name, self.codec))
  return yield* Deferreds.await_(instance, self.name, self.codec, timeoutMs)
}) as any

export { await_ as await }

/** A signed deferred token, as `token` and `tokenFor` make it: a string that names (workflow, execution, deferred). */
export type Token = Brand.Branded<string, "@weft/workflow/DurableDeferred/Token">

/** The schema of a token on a wire: a string, branded on decode; `readToken` (or `done`) checks its signature. */
export const Token: Schema.brand<Schema.String, "@weft/workflow/DurableDeferred/Token"> = Schema.String.pipe(
  Schema.brand("@weft/workflow/DurableDeferred/Token")
)

/** How long a token stays valid. */
export interface TokenOptions {
  /**
   * From when the token is made; then it is refused with `InvalidToken`. `"Infinity"`: it does not expire.
   * Default: the engine's `tokenExpiresIn` (no expiry unless set).
   */
  readonly expiresIn?: Duration.Input | undefined
}

/**
 * The signed token that completes this deferred of the running execution, from anywhere. Each replay makes a new
 * token (with a lifetime from then): each one is valid; hand one out from an activity so it is sent once.
 *
 * @example
 * const token = yield* DurableDeferred.token(Approval, { expiresIn: "7 days" })
 */
export const token: (self: Any, options?: TokenOptions) => Effect.Effect<Token, never, WorkflowInstance> = Effect
  .fnUntraced(function* (self: Any, options?: TokenOptions) {
    // Asked by the body on every replay: untraced.
    const instance = yield* WorkflowInstance
    const claims = { workflow: instance.def.name, executionId: instance.executionId, deferred: self.name }
    return (yield* Tokens.mint(instance.engine, claims, options?.expiresIn)) as Token
  })

/** The token of this deferred for a given execution, minted outside the workflow (an API server, a test). */
export const tokenFor: (
  self: Any,
  execution: { readonly workflow: string; readonly executionId: string } & TokenOptions
) => Effect.Effect<Token, never, WorkflowEngine> = Effect.fn("DurableDeferred.tokenFor")(function* (
  self: Any,
  execution: { readonly workflow: string; readonly executionId: string } & TokenOptions
) {
  yield* Effect.annotateCurrentSpan("weft.deferred", self.name)
  const claims = { workflow: execution.workflow, executionId: execution.executionId, deferred: self.name }
  return (yield* Tokens.mint(Engine.of(yield* WorkflowEngine), claims, execution.expiresIn)) as Token
})

/** What a deferred token names: the workflow, the execution and the deferred; and when it expires, if it does. */
export interface TokenClaims {
  readonly workflow: string
  readonly executionId: string
  readonly deferred: string
  /** Epoch milliseconds; absent when the token does not expire. */
  readonly expiresAt?: number | undefined
}

/**
 * Reads a token: what it names, once its signature holds under a key of the engine's keyring and it has not
 * expired. A forged, tampered, malformed or expired token, or one signed with a key the ring does not hold, fails
 * with `InvalidToken`; nothing is read from or written to the store.
 */
export const readToken: (token: string) => Effect.Effect<TokenClaims, WorkflowError, WorkflowEngine> = Effect.fn(
  "DurableDeferred.readToken"
)(function* (token: string) {
  const { deferred, executionId, expiresAt, workflow } = yield* Tokens.read(Engine.of(yield* WorkflowEngine), token)
  return expiresAt === undefined ? { workflow, executionId, deferred } : { workflow, executionId, deferred, expiresAt }
})

/**
 * Completes the deferred named by `token` with `exit`. A bad token or a value that does not fit
 * the schema fails with a typed error and writes nothing; a second completion is not applied.
 */
export const done: <S extends AnySchema, E extends AnySchema>(
  self: DurableDeferred<S, E>,
  options: { readonly token: string; readonly exit: Exit.Exit<S["Type"], E["Type"]> }
) => Effect.Effect<void, WorkflowError, WorkflowEngine> = Effect.fn("DurableDeferred.done")(function* (
  self: Any,
  options: { readonly token: string; readonly exit: Exit.Exit<unknown, unknown> }
) {
  yield* completeWith(self, options.token, options.exit)
})

/**
 * `done`, answering whether this call's completion is the one stored: false when the deferred was completed
 * before (the first completion stands; an API answers 409 then).
 */
export const complete: <S extends AnySchema, E extends AnySchema>(
  self: DurableDeferred<S, E>,
  options: { readonly token: string; readonly exit: Exit.Exit<S["Type"], E["Type"]> }
) => Effect.Effect<boolean, WorkflowError, WorkflowEngine> = Effect.fn("DurableDeferred.complete")(function* (
  self: Any,
  options: { readonly token: string; readonly exit: Exit.Exit<unknown, unknown> }
) {
  return yield* completeWith(self, options.token, options.exit)
})

/** Completes the deferred named by `token` with a value. */
export const succeed: <S extends AnySchema, E extends AnySchema>(
  self: DurableDeferred<S, E>,
  options: { readonly token: string; readonly value: S["Type"] }
) => Effect.Effect<void, WorkflowError, WorkflowEngine> = Effect.fn("DurableDeferred.succeed")(function* (
  self: Any,
  options: { readonly token: string; readonly value: unknown }
) {
  yield* completeWith(self, options.token, Exit.succeed(options.value))
})

/** Completes the deferred named by `token` with a typed error. */
export const fail: <S extends AnySchema, E extends AnySchema>(
  self: DurableDeferred<S, E>,
  options: { readonly token: string; readonly error: E["Type"] }
) => Effect.Effect<void, WorkflowError, WorkflowEngine> = Effect.fn("DurableDeferred.fail")(function* (
  self: Any,
  options: { readonly token: string; readonly error: unknown }
) {
  yield* completeWith(self, options.token, Exit.fail(options.error))
})

/**
 * Races `effects` once and stores the winner's Exit under `name`; every replay returns that
 * winner without racing again.
 */
export const raceAll = <S extends AnySchema, E extends AnySchema, R>(options: {
  readonly name: string
  readonly success: S
  readonly error: E
  readonly effects: Iterable<Effect.Effect<S["Type"], E["Type"], R>>
}): Effect.Effect<S["Type"], E["Type"], R | WorkflowInstance> => raceUntraced(options) as any

// A step of the body, met on every replay: untraced.
const raceUntraced = Effect.fnUntraced(function* (options: {
  readonly name: string
  readonly success: AnySchema
  readonly error: AnySchema
  readonly effects: Iterable<Effect.Effect<unknown, unknown, unknown>>
}) {
  const invalid = NameRules.invalid("Race", options.name)
  if (invalid !== undefined) return yield* Effect.die(invalid)
  const codec = Codec.make(undefined, options.success, options.error)
  return yield* Deferreds.raceAll(yield* WorkflowInstance, Names.race(options.name), codec, options.effects)
})

/** `done`, `succeed`, `fail` and `complete` alike, inside their span (which it names the deferred in); true if applied. */
const completeWith = Effect.fnUntraced(function* (self: Any, token: string, exit: Exit.Exit<unknown, unknown>) {
  yield* Effect.annotateCurrentSpan("weft.deferred", self.name)
  const engine = Engine.of(yield* WorkflowEngine)
  const claims = yield* Tokens.read(engine, token)
  if (claims.deferred !== self.name) {
    return yield* Effect.fail(
      new WorkflowError({
        reason: "InvalidToken",
        workflow: claims.workflow,
        executionId: claims.executionId,
        message: `The token is for deferred "${claims.deferred}", not "${self.name}"`
      })
    )
  }
  const encoded = self.codec.encodeExit(exit)
  if (Result.isFailure(encoded)) {
    return yield* Effect.fail(
      InvalidInput.invalid("InvalidPayload", `The value for deferred "${self.name}"`, encoded.failure, {
        workflow: claims.workflow,
        executionId: claims.executionId
      })
    )
  }
  yield* engine.get(claims.executionId, claims.workflow)
  return yield* Signals.completeDeferred(engine, claims.executionId, self.name, encoded.success, claims.workflow)
})
