/**
 * Causes as the runtime stores them: a failure keeps its own cause (never another fiber's process-local
 * interrupt), and races combine their losers' causes as the effect 3 build stored them.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

/** As effect 3's `Cause.isInterruptedOnly`: neither a typed failure nor a defect (so an empty cause counts). */
export const isInterruptedOnly = (cause: Cause.Cause<unknown>): boolean => cause.reasons.every(Cause.isInterruptReason)

/** Whether a cause holds a defect. */
export const hasDefect = (cause: Cause.Cause<unknown>): boolean => cause.reasons.some(Cause.isDieReason)

/**
 * A failure's own cause: the interrupts of other fibers (a sibling stopped by the failure, the run stopped to
 * suspend) are dropped when it also holds an error or a defect, as their fiber ids mean nothing past this process.
 */
export const ownCause = <E>(cause: Cause.Cause<E>): Cause.Cause<E> =>
  isInterruptedOnly(cause)
    ? cause
    : Cause.fromReasons(cause.reasons.filter((reason) => !Cause.isInterruptReason(reason)))

/** An Exit with its failure's own cause (see `ownCause`). */
export const ownExit = <A, E>(exit: Exit.Exit<A, E>): Exit.Exit<A, E> =>
  Exit.isFailure(exit) && !isInterruptedOnly(exit.cause) && exit.cause.reasons.some(Cause.isInterruptReason)
    ? Exit.failCause(ownCause(exit.cause))
    : exit

/**
 * Interrupts `fiber` from a new detached fiber and returns at once, as effect 3's `Fiber.interruptFork`: the
 * interrupt arrives asynchronously, never on the caller's stack (an immediate one would run the target's
 * finalizers there), and the caller does not wait for the target to end.
 */
export const interruptFork = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber)))

/** Effect 3's defect for an empty race, under its effect 3 name, so it is stored as effect 3 stored it. */
const emptyRace = (): Error => {
  const error = new Cause.IllegalArgumentError("Received an empty collection of effects")
  Object.defineProperty(error, "name", { value: "IllegalArgumentException", configurable: true, writable: true })
  return error
}

/**
 * Effect 3's `Effect.raceAll`: the first contender to succeed wins and the others are interrupted (and
 * awaited). When every contender fails, the race fails with all their causes, the last to fail first, as
 * effect 3 combined them; effect 4's `raceAll` would list them the other way round and turn typed errors
 * into defects next to a defect, changing the Exit stored for the race and what the body can catch.
 * An empty race is a defect, as in effect 3 (effect 4's would never end).
 */
export const raceAllFirstSuccess = <A, E, R>(effects: Iterable<Effect.Effect<A, E, R>>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const all = Array.from(effects)
    if (all.length === 0) return Effect.die(emptyRace())
    let failures: Array<Cause.Reason<E>> = []
    let failed = 0
    const contenders = all.map((effect) =>
      Effect.onExit(effect, (exit) =>
        Effect.sync(() => {
          if (Exit.isFailure(exit)) {
            failed++
            failures = [...exit.cause.reasons, ...failures]
          }
        })
      )
    )
    return Effect.catchCause(Effect.raceAll(contenders), (cause) =>
      Effect.failCause(failed === all.length ? Cause.fromReasons(failures) : cause)
    )
  })
