/**
 * Named fault points inside the runtime, for crash and race tests. Absent in production, where
 * every point is a no-op.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The points the runtime passes, in the order a run meets them. */
export type Point =
  | "run-claimed"
  | "activity-ran"
  | "activity-recorded"
  | "before-suspend"
  | "after-suspend"
  | "before-complete"
  | "after-complete"

/** Called at every point with the execution it concerns; may fail, die, block or act. */
export class TestHooks extends Context.Service<
  TestHooks,
  { readonly at: (point: Point, executionId: string, detail?: string) => Effect.Effect<void> }
>()("@weft/workflow/TestHooks") {}

/** Installs hooks for the engine built below this layer. */
export const layer = (
  at: (point: Point, executionId: string, detail?: string) => Effect.Effect<void>
): Layer.Layer<TestHooks> => Layer.succeed(TestHooks, { at })
