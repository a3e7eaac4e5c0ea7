/**
 * A private engine for replay tests and `describe`: a fresh memory store, the workflows another engine registered,
 * a step mode in place of every activity attempt, and a view of each run (its body's Exit, the clocks it stored)
 * and of when it suspended or ended. Nothing it does reaches the engine it copied the workflows from.
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as MemoryStore from "../MemoryStore.js"
import { TestHooks } from "../TestHooks.js"
import type { WorkflowError } from "../WorkflowError.js"
import { type ClockRecord, type Service as StoreService, WorkflowStore } from "../WorkflowStore.js"
import type { Registration } from "./definitions.js"
import * as Engine from "./engine.js"
import { type Run, WorkflowInstance } from "./run.js"
import * as StepMode from "./stepMode.js"

/** Where a run of the sandbox's execution stopped: it suspended, or its end is stored. */
export type Stop = "suspended" | "completed"

/** A private engine and what it saw. */
export interface Sandbox {
  readonly engine: Engine.Live
  readonly store: StoreService
  /** The latest run of each execution, with its body's Exit once the body ended. */
  readonly runs: Map<string, { readonly run: Run; exit: Exit.Exit<unknown, unknown> | undefined }>
  /** Waits until the next run of `executionId` suspends or its end is stored. */
  readonly next: (executionId: string) => Effect.Effect<Stop>
}

/** Options of `make`. */
export interface Options {
  /** The engine whose registered workflows the sandbox runs. */
  readonly source: Engine.Live
  readonly mode: StepMode.StepMode
  /** The clock a body asks for that its journal does not hold, as the store answers it (default: as written). */
  readonly onClock?: ((executionId: string, clock: ClockRecord) => ClockRecord) | undefined
}

/** Builds a sandbox in the scope: closing it stops every run. */
export const make = (options: Options): Effect.Effect<Sandbox, WorkflowError, Scope.Scope> =>
  Effect.gen(function* () {
    const memory = MemoryStore.make()
    const onClock = options.onClock
    const store: StoreService =
      onClock === undefined
        ? memory
        : {
            ...memory,
            recordClock: (executionId, fence, clock) =>
              memory.recordClock(executionId, fence, onClock(executionId, clock))
          }
    const stops = new Map<string, Queue.Queue<Stop>>()
    const queueOf = (executionId: string) =>
      Effect.suspend(() => {
        const existing = stops.get(executionId)
        if (existing !== undefined) return Effect.succeed(existing)
        return Effect.tap(Queue.unbounded<Stop>(), (queue) => Effect.sync(() => stops.set(executionId, queue)))
      })
    const hooks = {
      at: (point: string, executionId: string) =>
        point === "after-suspend" || point === "after-complete"
          ? Effect.flatMap(queueOf(executionId), (queue) =>
              Queue.offer(queue, point === "after-suspend" ? "suspended" : "completed")
            ).pipe(Effect.asVoid)
          : Effect.void
    }
    const engine = yield* Engine.make({ owner: "weft-sandbox", inMemoryThreshold: 0, tracing: false }).pipe(
      Effect.provideService(WorkflowStore, store),
      Effect.provideService(TestHooks, hooks)
    )
    StepMode.install(engine, options.mode)
    const runs: Sandbox["runs"] = new Map()
    for (const versions of options.source.registered.values()) {
      for (const registration of versions.values()) yield* engine.register(watched(registration, runs))
    }
    return {
      engine,
      store: memory,
      runs,
      next: (executionId) => Effect.flatMap(queueOf(executionId), Queue.take)
    }
  })

/** A registration whose body lets the sandbox see its run and its Exit. */
const watched = (registration: Registration, runs: Sandbox["runs"]): Registration => ({
  ...registration,
  handler: (payload, executionId) =>
    Effect.flatMap(WorkflowInstance, (run) => {
      const seen: { readonly run: Run; exit: Exit.Exit<unknown, unknown> | undefined } = { run, exit: undefined }
      runs.set(executionId, seen)
      return Effect.onExit(
        Effect.suspend(() => registration.handler(payload, executionId)),
        (exit) => Effect.sync(() => (seen.exit = exit))
      )
    })
})
