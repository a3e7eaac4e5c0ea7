/**
 * A workflow's static shape, for docs and reviews: its ordered activities, sleeps, waits, queues, children and notes
 * with their JSON Schemas, found by running its body once with generated values and no activity body; and as Mermaid.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Engine from "./internal/engine.js"
import * as Shapes from "./internal/shape.js"
import type * as DurableDeferred from "./DurableDeferred.js"
import type * as DurableQueue from "./DurableQueue.js"
import type * as Workflow from "./Workflow.js"
import { WorkflowEngine } from "./WorkflowEngine.js"
import type { WorkflowError } from "./WorkflowError.js"

/** One step of a shape: an activity, a sleep, a wait (a deferred), a queue hand-over, a child workflow or a note. */
export type Step = Shapes.Step

/** A workflow's shape: the payload it was described with, its steps in the order first asked for, and its end. */
export type Shape = Shapes.Shape

/** Options of `describe`. */
export interface Options {
  /** The deferreds the body awaits: a wait is answered with a value of its success schema only when given here. */
  readonly deferreds?: ReadonlyArray<DurableDeferred.Any> | undefined
  /** The queues the body hands items to: their results are generated only when given here. */
  readonly queues?: ReadonlyArray<DurableQueue.DurableQueue<any, any, any>> | undefined
  /** The seed of the generated values (default "weft"). */
  readonly seed?: string | undefined
}

/**
 * The static shape of `workflow`, whose body the engine in context registered, without running any activity body:
 * the body runs once on a private in-memory engine where each activity returns a value generated from its success
 * schema (effect's `Arbitrary`), sleeps are over at once, a child is not started (its result is generated from its
 * workflow's success schema), and a wait is answered with a generated value when its definition is in `deferreds`
 * (else describing stops there, or, for a wait with a timeout, the wait times out). A branch that depends on a value
 * takes the path the generated values lead to: the same `seed` gives the same values and the same path; pass a
 * `payload` (default: generated from the payload schema) or another seed to walk another one.
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
    payload === undefined ? Option.none() : Option.some(payload),
    options
  )
})

/**
 * A shape as a Mermaid flowchart (`flowchart TD`) for docs: the workflow, then each step in order (activities as
 * boxes, sleeps as parallelograms, waits as hexagons, children as subroutines, queues as cylinders, notes as flags),
 * then its end.
 */
export const toMermaid = (shape: Shape): string => Shapes.toMermaid(shape)
