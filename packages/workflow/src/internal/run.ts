/**
 * One run of one execution: the body's fiber, its view of the journal, its suspension bookkeeping and the state
 * an interrupt, a compensation or a failed store write leaves. The steps themselves live in `activities.ts`,
 * `clocks.ts`, `deferreds.ts`, `children.ts` and `compensation.ts`; this is what they share.
 */
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import { WorkflowError } from "../WorkflowError.js"
import type { DeferredRecord, EncodedExit, Journal } from "../WorkflowStore.js"
import * as Codec from "./codec.js"
import type { Engine, WorkflowDef } from "./definitions.js"
import * as InvalidInput from "./invalidInput.js"
import { Replay } from "./replay.js"
import * as Retry from "./retry.js"
import type { LiveRun } from "./scheduler.js"
import { Suspension } from "./suspension.js"

/** A compensation registered by a step; it runs if the execution finally fails or is interrupted. */
export interface Compensation {
  readonly name: string
  readonly run: (cause: Cause.Cause<unknown>) => Effect.Effect<void, unknown, any>
}

/** The state of one run of one execution. */
export class Run implements LiveRun {
  readonly replay: Replay
  readonly suspension = new Suspension()
  readonly compensations: Array<Compensation> = []
  /** Children the body asked for in this run, started or not: a start may have run without being recorded. */
  readonly children = new Set<string>()
  /** Waiters of deferreds awaited while the run is live, so a signal reaches them without a new run. */
  waiters: Map<string, Deferred.Deferred<DeferredRecord>> | undefined
  /** How many `raceAll`s are being run. */
  racing = 0
  /** How many notes the body wrote (or replayed) in this run: the next note's index. */
  notes = 0
  /** Set when an interrupt was requested: no new step starts, and the execution ends interrupted. */
  interrupting: boolean
  /** Compensations run even while interrupting: `interrupting` stays set, so a late interrupt request is a no-op. */
  compensating = false
  /** The store write that failed, if one did: the run stops and records nothing more. */
  abort: WorkflowError | undefined
  /**
   * The execution's scope, as the body sees it: closed with the execution's Exit when it ends, never when a run
   * suspends or a worker stops. Every run replays the body, so the run that ends it holds every finalizer.
   */
  readonly scope: Scope.Closeable = Scope.makeUnsafe()

  constructor(
    readonly engine: Engine,
    readonly def: WorkflowDef,
    readonly executionId: string,
    readonly fence: number,
    journal: Journal
  ) {
    this.replay = new Replay(journal)
    this.interrupting = journal.execution.interruptRequested
  }

  /** Names the workflow and execution in the guard's messages. */
  get workflow(): string {
    return this.def.name
  }

  /** A store write failed: stop the run without recording anything more; the runtime decides what next. */
  abortWith(error: WorkflowError): Effect.Effect<never> {
    this.abort ??= error
    return Effect.interrupt
  }

  /**
   * A step's store write: tried again while the database does not answer (bounded, and only while this run
   * holds its claim: `Retry.storeWrite`); a write that still fails then goes to `storeFailed`.
   */
  persist<A>(write: Effect.Effect<A, WorkflowError>): Effect.Effect<A> {
    return Effect.catch(write, (error) =>
      error.reason === "StoreUnavailable" && this.abort === undefined
        ? Effect.catch(
          Retry.writeAgain(write, error, Retry.writeBudgetMs(this.engine.settings), () => this.abort === undefined),
          (error) => this.storeFailed(error)
        )
        : this.storeFailed(error)
    )
  }

  /**
   * A failed store write (or start, or enqueue) of a step: refused by the database, a defect of the execution
   * naming the cause (it ends failed and can be resumed once fixed: never a loop); unreachable or the claim
   * lost, the run stops (`abortWith`); any other error is a defect, as it was inside the step.
   */
  storeFailed(error: WorkflowError): Effect.Effect<never> {
    if (error.reason === "StoreRejected") return Effect.die(this.rejected(error))
    if (error.reason === "StoreUnavailable" || error.reason === "LeaseLost") return this.abortWith(error)
    return Effect.die(error)
  }

  /** A `StoreRejected` error naming this run's workflow and execution. */
  rejected(error: WorkflowError): WorkflowError {
    return new WorkflowError({
      reason: "StoreRejected",
      workflow: error.workflow ?? this.def.name,
      executionId: error.executionId ?? this.executionId,
      message: `Workflow "${this.def.name}" (execution ${this.executionId}): a store write was refused, not retried ` +
        `(StoreRejected): ${error.message}`
    })
  }

  /** Encodes an Exit; a value that does not fit its schema is stored as a defect naming what was wrong. */
  encode(codec: Codec.Codec, exit: Exit.Exit<unknown, unknown>, what: string): EncodedExit {
    const encoded = codec.encodeExit(exit)
    if (Result.isSuccess(encoded)) return encoded.success
    const error = InvalidInput.invalid("InvalidResult", what, encoded.failure, {
      workflow: this.def.name,
      executionId: this.executionId
    })
    return Result.getOrThrow(codec.encodeExit(Exit.die(error)))
  }
}

/** The run whose body is executing: present only inside a workflow. */
export class WorkflowInstance extends Context.Service<WorkflowInstance, Run>()("@weft/workflow/WorkflowInstance") {}
