/**
 * Group commit: a write goes out at once, alone, when none of its kind is in flight; writes that arrive
 * meanwhile wait for it and then leave together, as one statement. No write waits for more than the one before it.
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * A write with its statement parameters, computed by its caller: a value that cannot be serialized fails
 * that caller alone, not the batch it would have joined.
 */
export type WithParams<A> = A & { readonly params: ReadonlyArray<unknown> }

/** `item` with the parameters `params` computes for it. */
export const withParams = <A>(item: A, params: (item: A) => ReadonlyArray<unknown>): WithParams<A> => ({
  ...item,
  params: params(item)
})

/** How one kind of write goes out. */
export interface Options<I, O, E> {
  /** The write of one item, when none is in flight. */
  readonly alone: (item: I) => Effect.Effect<O, E>
  /**
   * One statement for the items that queued meanwhile: for each, in order, its outcome, or a follow-up
   * effect for one the statement could not decide (a conflict to look up).
   */
  readonly together: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<Exit.Exit<O, E> | Effect.Effect<O, E>>, E>
}

/**
 * A writer of one kind; its calls are uninterruptible: a write once sent (or queued) is seen through.
 * Batches run on fibers of their own, with `context`'s services.
 */
export const make = <I, O, E>(context: Context.Context<never>, options: Options<I, O, E>): ((item: I) => Effect.Effect<O, E>) => {
  interface Pending {
    readonly item: I
    readonly resume: (outcome: Effect.Effect<O, E>) => void
  }
  let queued: Array<Pending> = []
  let flushing = false
  const run = Effect.runForkWith(context)

  const settle = Effect.sync(() => {
    flushing = false
    if (queued.length > 0) flush()
  })

  const flush = (): void => {
    flushing = true
    const batch = queued
    queued = []
    run(Effect.ensuring(write(batch), settle))
  }

  // Every queued caller is resumed whatever happens, a defect (say, a value JSON cannot hold) included.
  const write = (batch: ReadonlyArray<Pending>): Effect.Effect<void> =>
    Effect.matchCauseEffect(Effect.suspend(() => options.together(batch.map((p) => p.item))), {
      onFailure: (cause) =>
        Effect.sync(() => {
          const failed = Exit.failCause(cause)
          for (const p of batch) p.resume(failed)
        }),
      onSuccess: (outcomes) => {
        const followUps: Array<Effect.Effect<void>> = []
        for (const [i, p] of batch.entries()) {
          const outcome = outcomes[i]
          if (outcome === undefined) p.resume(Exit.die(new Error("A batched write has no outcome")))
          else if (Exit.isExit(outcome)) p.resume(outcome)
          // Follow-ups (look-ups after a conflict) run on this fiber: the next batch leaves after them.
          else followUps.push(Effect.flatMap(Effect.exit(outcome), (exit) => Effect.sync(() => p.resume(exit))))
        }
        return followUps.length === 0 ? Effect.void : Effect.all(followUps, { concurrency: "unbounded", discard: true })
      }
    })

  return (item) =>
    Effect.suspend(() => {
      if (!flushing) {
        // Nothing in flight: this write goes out alone, on the caller's fiber.
        flushing = true
        return Effect.uninterruptible(Effect.ensuring(Effect.suspend(() => options.alone(item)), settle))
      }
      return Effect.uninterruptible(Effect.callback<O, E>((resume) => void queued.push({ item, resume })))
    })
}
