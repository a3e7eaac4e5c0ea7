/**
 * What reaches an execution from outside through the proxy: a deferred completed by its token, a channel message sent
 * by execution id or by token. Each checks its capability (the token, the group's workflows and channels) and the
 * value's schema before anything is written.
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { DurableChannel, DurableDeferred, WorkflowEngine, WorkflowError } from "@weft/workflow"
import * as WorkflowProxy from "../WorkflowProxy.js"

/** An execution of no workflow of the group: as unknown as any other. */
export const notInGroup = (executionId: string) =>
  new WorkflowError.WorkflowError({ reason: "ExecutionNotFound", executionId, message: `No execution ${executionId}` })

/**
 * Completes the deferred a token names. The token is verified before anything else, so a forged or tampered one
 * fails with `InvalidToken` and nothing is written; the value is checked against the deferred's own schema.
 */
export const complete = <E>(
  deferreds: ReadonlyMap<string, DurableDeferred.Any>,
  token: string,
  toExit: (deferred: DurableDeferred.Any) => Effect.Effect<Exit.Exit<unknown, unknown>, E>
): Effect.Effect<
  void,
  E | WorkflowError.WorkflowError | WorkflowProxy.DeferredAlreadyCompleted,
  WorkflowEngine.WorkflowEngine
> =>
  Effect.gen(function*() {
    const claims = yield* DurableDeferred.readToken(token)
    const deferred = deferreds.get(claims.deferred)
    if (deferred === undefined) {
      return yield* Effect.fail(
        new WorkflowError.WorkflowError({
          reason: "NotRegistered",
          workflow: claims.workflow,
          executionId: claims.executionId,
          message: `Deferred "${claims.deferred}" is not exposed by this proxy: add it to the group's \`deferreds\``
        })
      )
    }
    const exit = yield* toExit(deferred)
    const applied = yield* DurableDeferred.complete(deferred, { token, exit })
    if (!applied) {
      return yield* Effect.fail(
        new WorkflowProxy.DeferredAlreadyCompleted({
          message: `Deferred "${claims.deferred}" of execution ${claims.executionId} was completed before`
        })
      )
    }
  })

/**
 * Sends to a channel of an execution of the group's `workflows` (any other id is not found, as for the status
 * route); the message is checked against the channel's own schema first.
 */
export const sendByExecution = <E>(
  workflows: ReadonlySet<string>,
  channels: ReadonlyMap<string, DurableChannel.Any>,
  executionId: string,
  name: string,
  toMessage: (channel: DurableChannel.Any) => Effect.Effect<unknown, E>
): Effect.Effect<{ readonly index: number }, E | WorkflowError.WorkflowError, WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function*() {
    const channel = channels.get(name)
    if (channel === undefined) return yield* Effect.fail(notExposed(name, {}))
    const message = yield* toMessage(channel)
    const engine = yield* WorkflowEngine.WorkflowEngine
    const record = yield* engine.get(executionId)
    if (!workflows.has(record.workflow)) return yield* Effect.fail(notInGroup(executionId))
    return { index: yield* DurableChannel.send(channel, { executionId, message }) }
  })

/**
 * Sends to the channel a token names. The token is verified first, so a forged or tampered one fails with
 * `InvalidToken` and nothing is written; the message is checked against the channel's own schema.
 */
export const sendByToken = <E>(
  channels: ReadonlyMap<string, DurableChannel.Any>,
  token: string,
  toMessage: (channel: DurableChannel.Any) => Effect.Effect<unknown, E>
): Effect.Effect<{ readonly index: number }, E | WorkflowError.WorkflowError, WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function*() {
    const claims = yield* DurableDeferred.readToken(token)
    const name = DurableChannel.nameOfToken(claims)
    const channel = name === undefined ? undefined : channels.get(name)
    if (channel === undefined) return yield* Effect.fail(notExposed(name, claims))
    const message = yield* toMessage(channel)
    return { index: yield* DurableChannel.sendByToken(channel, { token, message }) }
  })

/** A channel (or a token of no channel) the group does not expose. */
const notExposed = (name: string | undefined, about: { readonly workflow?: string; readonly executionId?: string }) =>
  new WorkflowError.WorkflowError({
    reason: "NotRegistered",
    ...about,
    message: `${name === undefined ? "The token names no channel: it" : `Channel "${name}"`} is not exposed ` +
      "by this proxy: add it to the group's `channels`"
  })

export const channelsByName = (channels: ReadonlyArray<DurableChannel.Any>): ReadonlyMap<string, DurableChannel.Any> =>
  new Map(channels.map((channel) => [channel.name, channel]))

/** Deferreds by name. */
export const byName = (deferreds: ReadonlyArray<DurableDeferred.Any>): ReadonlyMap<string, DurableDeferred.Any> =>
  new Map(deferreds.map((deferred) => [deferred.name, deferred]))

