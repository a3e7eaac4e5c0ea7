/**
 * Durable channels: many messages per execution, sent from outside (by execution id or by token) and received
 * by the body in arrival order. Messages that come before a receive are kept; a replay receives the same ones.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Channels from "./internal/channels.js"
import * as Codec from "./internal/codec.js"
import * as Engine from "./internal/engine.js"
import * as InvalidInput from "./internal/invalidInput.js"
import * as NameRules from "./internal/nameRules.js"
import * as Names from "./internal/reserved.js"
import { WorkflowInstance } from "./internal/run.js"
import * as Shapes from "./internal/shape.js"
import * as Tokens from "./internal/token.js"
import type { TokenOptions } from "./DurableDeferred.js"
import type { AnySchema } from "./Workflow.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import { WorkflowError } from "./WorkflowError.js"

/** A named stream of messages, per execution, each checked by `message`. */
export interface DurableChannel<Message extends AnySchema> {
  readonly _tag: "DurableChannel"
  readonly name: string
  readonly messageSchema: Message
  readonly codec: Codec.Codec
}

/** Any channel. */
export interface Any extends DurableChannel<AnySchema> {}

/** The signed token of a channel of one execution, as `token` and `tokenFor` make it. */
export type Token = string

/**
 * Defines a channel. The name is unique within a workflow.
 *
 * @example
 * const Chat = DurableChannel.make("chat", { message: Schema.Struct({ from: Schema.String, text: Schema.String }) })
 */
export const make = <Message extends AnySchema>(
  name: string,
  options: { readonly message: Message }
): DurableChannel<Message> => {
  NameRules.assertName("Channel", name)
  Names.assertUserName("Channel", name)
  return {
    _tag: "DurableChannel",
    name,
    messageSchema: options.message,
    codec: Codec.make(undefined, options.message, Schema.Never)
  }
}

/**
 * Takes the channel's next message, in arrival order: the k-th receive of a channel in an execution always answers
 * its k-th message, on every replay. With none yet, the execution suspends (holding no fiber) until one is sent.
 * With `timeout`, the wait is durable, and the result is `None` once it passed; the next message then goes to the
 * next receive.
 *
 * @example
 * const first = yield* DurableChannel.receive(Chat)
 * const next = yield* DurableChannel.receive(Chat, { timeout: "1 hour" }) // Option
 */
export const receive: {
  <M extends AnySchema>(self: DurableChannel<M>): Effect.Effect<M["Type"], never, WorkflowInstance>
  <M extends AnySchema>(
    self: DurableChannel<M>,
    options: { readonly timeout: Duration.Input }
  ): Effect.Effect<Option.Option<M["Type"]>, never, WorkflowInstance>
} = Effect.fnUntraced(function* (self: Any, options?: { readonly timeout: Duration.Input }) {
  // A step of the body, met on every replay: untraced.
  const instance = yield* WorkflowInstance
  const timeoutMs = options === undefined ? undefined : Duration.toMillis(options.timeout)
  if (Shapes.watching(instance)) Shapes.meet(instance, { _tag: "Channel", name: self.name, codec: self.codec, timeoutMs })
  if (timeoutMs === undefined) return Option.getOrThrow(yield* Channels.receive(instance, self.name, self.codec))
  return yield* Channels.receive(instance, self.name, self.codec, timeoutMs)
}) as any

/**
 * Sends `message` to the channel of execution `executionId` (an operator, an API). A message that does not fit
 * the schema fails with `InvalidPayload` naming the field, and nothing is written; an unknown execution is
 * `ExecutionNotFound`, one that has ended (or is being interrupted) `InvalidState`. Returns the message's index.
 */
export const send: <M extends AnySchema>(
  self: DurableChannel<M>,
  options: { readonly executionId: string; readonly message: M["Type"] }
) => Effect.Effect<number, WorkflowError, WorkflowEngine> = Effect.fn("DurableChannel.send")(function* (
  self: Any,
  options: { readonly executionId: string; readonly message: unknown }
) {
  yield* Effect.annotateCurrentSpan("weft.channel", self.name)
  const engine = Engine.of(yield* WorkflowEngine)
  const record = yield* engine.get(options.executionId)
  return yield* sendTo(engine, self, record.executionId, record.workflow, options.message)
})

/** The signed token that sends to this channel of the running execution, from anywhere (`sendByToken`). */
export const token: (self: Any, options?: TokenOptions) => Effect.Effect<Token, never, WorkflowInstance> = Effect
  .fnUntraced(function* (self: Any, options?: TokenOptions) {
    // Asked by the body on every replay: untraced.
    const instance = yield* WorkflowInstance
    const { executionId } = instance
    const claims = { workflow: instance.def.name, executionId, deferred: Names.channel(self.name) }
    return yield* Tokens.mint(instance.engine, claims, options?.expiresIn)
  })

/** The token of this channel for a given execution, minted outside the workflow (an API server, a test). */
export const tokenFor: (
  self: Any,
  execution: { readonly workflow: string; readonly executionId: string } & TokenOptions
) => Effect.Effect<Token, never, WorkflowEngine> = Effect.fn("DurableChannel.tokenFor")(function* (
  self: Any,
  execution: { readonly workflow: string; readonly executionId: string } & TokenOptions
) {
  yield* Effect.annotateCurrentSpan("weft.channel", self.name)
  const { executionId, workflow } = execution
  const claims = { workflow, executionId, deferred: Names.channel(self.name) }
  return yield* Tokens.mint(Engine.of(yield* WorkflowEngine), claims, execution.expiresIn)
})

/**
 * The channel a token names, from what `DurableDeferred.readToken` reads of it (its `deferred` claim); undefined for a
 * deferred's token. For routers that take tokens of many channels (`@weft/proxy`).
 */
export const nameOfToken = (claims: { readonly deferred: string }): string | undefined =>
  claims.deferred.startsWith(Names.CHANNEL) ? claims.deferred.slice(Names.CHANNEL.length) : undefined

/**
 * Sends `message` to the channel and execution `token` names. A forged, tampered or expired token, or one of
 * another channel (or a deferred's), fails with `InvalidToken`; a message that does not fit the schema with
 * `InvalidPayload`; nothing is written then. Returns the message's index.
 */
export const sendByToken: <M extends AnySchema>(
  self: DurableChannel<M>,
  options: { readonly token: string; readonly message: M["Type"] }
) => Effect.Effect<number, WorkflowError, WorkflowEngine> = Effect.fn("DurableChannel.sendByToken")(function* (
  self: Any,
  options: { readonly token: string; readonly message: unknown }
) {
  yield* Effect.annotateCurrentSpan("weft.channel", self.name)
  const engine = Engine.of(yield* WorkflowEngine)
  const claims = yield* Tokens.read(engine, options.token)
  if (claims.deferred !== Names.channel(self.name)) {
    return yield* Effect.fail(
      new WorkflowError({
        reason: "InvalidToken",
        workflow: claims.workflow,
        executionId: claims.executionId,
        message: `The token is for ${describeTarget(claims.deferred)}, not channel "${self.name}"`
      })
    )
  }
  // Checked before the execution is read: bad input reads and writes nothing.
  const encoded = yield* encode(self, options.message, claims)
  yield* engine.get(claims.executionId, claims.workflow)
  return yield* Channels.send(engine, claims.executionId, claims.workflow, self.name, encoded)
})

const sendTo = (
  engine: Engine.Live,
  self: Any,
  executionId: string,
  workflow: string,
  message: unknown
): Effect.Effect<number, WorkflowError> =>
  Effect.flatMap(encode(self, message, { workflow, executionId }), (encoded) =>
    Channels.send(engine, executionId, workflow, self.name, encoded)
  )

/** The message as stored (an encoded success Exit), or `InvalidPayload` naming the field that does not fit. */
const encode = (
  self: Any,
  message: unknown,
  context: { readonly workflow: string; readonly executionId: string }
): Effect.Effect<unknown, WorkflowError> => {
  const encoded = self.codec.encodeExit(Exit.succeed(message))
  return Result.isFailure(encoded)
    ? Effect.fail(
      InvalidInput.invalid("InvalidPayload", `The message for channel "${self.name}"`, encoded.failure, {
        workflow: context.workflow,
        executionId: context.executionId
      })
    )
    : Effect.succeed(encoded.success)
}

const describeTarget = (named: string): string =>
  named.startsWith(Names.CHANNEL) ? `channel "${named.slice(Names.CHANNEL.length)}"` : `deferred "${named}"`
