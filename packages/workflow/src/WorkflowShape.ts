/**
 * A workflow's static shape, for docs and reviews: its ordered activities, sleeps, waits, receives, queues, children
 * and notes with their JSON Schemas, found by running its body once with generated values and no activity body; as
 * Mermaid.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Engine from "./internal/engine.js"
import * as Shapes from "./internal/shape.js"
import type * as DurableChannel from "./DurableChannel.js"
import type * as DurableDeferred from "./DurableDeferred.js"
import type * as DurableQueue from "./DurableQueue.js"
import type * as Workflow from "./Workflow.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import type { WorkflowError } from "./WorkflowError.js"

/**
 * One step of a shape: an activity, a sleep, a wait (a deferred), a receive (a channel's message), a queue hand-over,
 * a child workflow or a note.
 */
export type Step = Shapes.Step

/** A workflow's shape: the payload it was described with, its steps in the order first asked for, and its end. */
export type Shape = Shapes.Shape

/** Options of `describe`. */
export interface Options {
  /**
   * Overrides of the deferreds the body awaits, by name: a wait is answered with a value generated from the schema
   * given here instead of its own (to steer a branch; the value must still decode under the body's own schema).
   * The listed schemas stay the body's own.
   */
  readonly deferreds?: ReadonlyArray<DurableDeferred.Any> | undefined
  /** Overrides of the queues the body hands items to, by name: their results are generated from these schemas. */
  readonly queues?: ReadonlyArray<DurableQueue.DurableQueue<any, any, any>> | undefined
  /**
   * Deferreds and channels whose waits with a timeout take the timeout path (`None`) instead of getting a value:
   * a shape is one path, so this walks the other outcome of a timed wait.
   */
  readonly expire?: ReadonlyArray<DurableDeferred.Any | DurableChannel.Any> | undefined
  /** The seed of the generated values (default "weft"). */
  readonly seed?: string | undefined
}

/**
 * The static shape of `workflow`, whose body the engine in context registered, without running any activity body:
 * the body runs once on a private in-memory engine where each activity returns a value generated from its success
 * schema (effect's `Arbitrary`), sleeps are over at once, and a child is not started (its result is generated from
 * its workflow's success schema).
 *
 * Waits are learnt from the definitions the body passes: `DurableDeferred.await`, `DurableChannel.receive` and
 * `DurableQueue.process` each report their deferred, channel or queue, whose schemas the step lists (success and
 * error; message; item and result) and whose success schema the generated answer comes from, so no option is
 * needed. A wait with a timeout is answered too: the shape walks its value (or message) path, and the step says
 * its timeout; name it in `expire` to walk its timeout path instead. `deferreds` and `queues` only override the
 * schema an answer is generated from. A branch that depends on a value takes the path the generated values lead
 * to: the same `seed` gives the same values and the same path; pass a `payload` (default: generated from the
 * payload schema) or another seed to walk another one.
 *
 * @example
 * const shape = yield* WorkflowShape.describe(ProcessOrder, { orderId: "o-1", sku: "MUG", amountCents: 100 })
 * console.log(WorkflowShape.toMermaid(shape))
 */
export const describe: <W extends Workflow.Any>(
  workflow: W,
  payload?: W["payloadSchema"]["Type"],
  options?: Options
) => Effect.Effect<Shape, WorkflowError, WorkflowEngine> = Effect.fn("WorkflowShape.describe")(function* (
  workflow: Workflow.Any,
  payload?: unknown,
  options: Options = {}
) {
  return yield* Shapes.describe(
    Engine.of(yield* WorkflowEngine),
    workflow.name,
    workflow.version,
    payload === undefined ? Option.none() : Option.some(payload),
    options
  )
})

/**
 * A shape as a Mermaid flowchart (`flowchart TD`) for docs: the workflow, then each step in order (activities as
 * boxes, sleeps as parallelograms, waits and receives as hexagons, children as subroutines, queues as cylinders,
 * notes as flags), then its end. Waits, receives and queues name their schemas in short (`success: { ok: boolean }`,
 * `message: …`, `item: …` / `result: …`), and a timed one which path was walked.
 */
export const toMermaid = (shape: Shape): string => Shapes.toMermaid(shape)
