/**
 * Channels inside and outside a run: the k-th receive of a channel in a body awaits the deferred of message k,
 * and a send asks the store for the next index of that (execution, channel) and stores the message there. So
 * ordering, messages kept until a receive, waking and replay are the deferreds' own.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { WorkflowError } from "../WorkflowError.js"
import { type EncodedExit, terminal } from "../WorkflowStore.js"
import type * as Codec from "./codec.js"
import * as Deferreds from "./deferreds.js"
import type { Engine } from "./definitions.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"

/** How many receives of each channel a run's body has asked for: the next one's index is one more. */
const received = new WeakMap<Run, Map<string, number>>()

/**
 * The next message of `channel`: the run's k-th receive of it awaits message k (stored, delivered while live, or
 * a suspension). With `timeoutMillis`, the wait is a durable timer as `DurableDeferred.await`'s; None when it passed
 * (its marker then takes index k: the message sent after it is k + 1, for the next receive).
 */
export const receive = (
  run: Run,
  channel: string,
  codec: Codec.Codec,
  timeoutMillis?: number
): Effect.Effect<Option.Option<unknown>, unknown> =>
  Effect.suspend(() => {
    let counts = received.get(run)
    if (counts === undefined) received.set(run, (counts = new Map()))
    const index = (counts.get(channel) ?? 0) + 1
    counts.set(channel, index)
    return Deferreds.await_(run, Names.channelMessage(channel, index), codec, timeoutMillis)
  })

/**
 * Sends an encoded message to `channel` of an execution: stored at the channel's next index, delivered to a live
 * run here, and the execution scheduled here unless its workflow is not registered here (its workers are woken by
 * the store). Unknown: `ExecutionNotFound`; ended or being interrupted: `InvalidState`, nothing written.
 */
export const send = (
  engine: Engine,
  executionId: string,
  workflow: string,
  channel: string,
  exit: EncodedExit
): Effect.Effect<number, WorkflowError> =>
  Effect.gen(function* () {
    const sendMessage = engine.store.sendMessage
    if (sendMessage === undefined) {
      return yield* Effect.fail(
        new WorkflowError({
          reason: "StoreRejected",
          workflow,
          executionId,
          message: `This store keeps no channels (it has no sendMessage): channel "${channel}" cannot take a message`
        })
      )
    }
    const sentAt = yield* Clock.currentTimeMillis
    const sent = yield* sendMessage(executionId, { prefix: Names.channelPrefix(channel), exit, sentAt })
    if (sent._tag === "Refused") {
      return yield* Effect.fail(
        new WorkflowError({
          reason: "InvalidState",
          workflow,
          executionId,
          message: terminal.has(sent.status)
            ? `Execution ${executionId} of workflow "${workflow}" has ended (${sent.status}): channel "${channel}" ` +
              "takes no more messages"
            : `Execution ${executionId} of workflow "${workflow}" is being interrupted: channel "${channel}" takes ` +
              "no more messages"
        })
      )
    }
    const run = engine.scheduler.live(executionId)
    if (run !== undefined) Deferreds.deliver(run, sent.record)
    // As for a deferred: claiming a workflow this engine cannot run would race its workers' wake-up and win.
    if (engine.registry.has(workflow)) yield* engine.scheduler.schedule(executionId)
    return sent.index
  })
