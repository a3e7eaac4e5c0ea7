/**
 * Durable sleep: the wake time is stored once, so a replay never sleeps again what already passed.
 * Short waits stay in the fiber; long ones become a timer and the execution suspends until it fires.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Clocks from "./internal/clocks.js"
import * as NameRules from "./internal/nameRules.js"
import * as Names from "./internal/reserved.js"
import { WorkflowInstance } from "./internal/run.js"

/**
 * Sleeps durably under `name` (unique within the workflow). Waits up to `inMemoryThreshold`
 * (default: the engine's, 60 seconds) stay in memory; longer ones suspend the execution.
 *
 * @example
 * yield* DurableClock.sleep({ name: "cancellation-window", duration: "3 days" })
 */
export const sleep: (options: {
  readonly name: string
  readonly duration: Duration.Input
  readonly inMemoryThreshold?: Duration.Input | undefined
}) => Effect.Effect<void, never, WorkflowInstance> = Effect.fnUntraced(function* (options: {
  readonly name: string
  readonly duration: Duration.Input
  readonly inMemoryThreshold?: Duration.Input | undefined
}) {
  // A step of the body, met on every replay: untraced.
  const invalid = NameRules.invalid("Sleep", options.name)
  if (invalid !== undefined) return yield* Effect.die(invalid)
  return yield* Clocks.sleep(
    yield* WorkflowInstance,
    Names.sleep(options.name),
    Duration.toMillis(options.duration),
    options.inMemoryThreshold === undefined ? undefined : Duration.toMillis(options.inMemoryThreshold)
  )
})
