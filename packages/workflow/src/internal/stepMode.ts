/**
 * Step modes: what an engine built for replay tests (`WorkflowReplayer`) or for `describe` (`WorkflowShape`) does
 * where an activity attempt would run. Ordinary engines have none; the runtime looks only where an attempt runs.
 */
import type * as Effect from "effect/Effect"
import type { ActivityDef, Engine } from "./definitions.js"
import type { Run } from "./run.js"

/** In place of an attempt: a body to run instead of the activity's own, or a defect that stops the step unrecorded. */
export type Taken =
  | { readonly _tag: "Body"; readonly body: Effect.Effect<any, any, any> }
  | { readonly _tag: "Stop"; readonly defect: unknown }

/** Decides what runs in place of attempt `attempt` of activity `def`. */
export type StepMode = (run: Run, def: ActivityDef, attempt: number) => Taken

const modes = new WeakMap<Engine, StepMode>()

/** Installs `mode` on an engine built for it (never on a worker's engine). */
export const install = (engine: Engine, mode: StepMode): void => {
  modes.set(engine, mode)
}

/** The step mode of `engine`, if it has one. */
export const of = (engine: Engine): StepMode | undefined => modes.get(engine)
