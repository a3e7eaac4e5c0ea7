/**
 * The scheduler: one run loop per execution live in this process, within `maxRuns` run slots. A wake-up for
 * an execution that runs already makes it run once more; work past the slots is left in the store and looked
 * for again when a slot frees up.
 */
import * as Context from "effect/Context"
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { WorkflowError } from "../WorkflowError.js"
import type { Claim, DeferredRecord } from "../WorkflowStore.js"
import type { Replay } from "./replay.js"
import type { Suspension } from "./suspension.js"
import { sleepLive } from "./time.js"

/**
 * What the scheduler holds of a run in progress, and what the engine's own loops (signals, the lease) may
 * touch of it: a run's journal view, its suspension, its deferred waiters, an interrupt or an abort.
 */
export interface LiveRun {
  readonly executionId: string
  readonly fence: number
  readonly replay: Replay
  readonly suspension: Suspension
  /** Waiters of deferreds awaited while the run is live, so a signal reaches them without a new run. */
  waiters: Map<string, Deferred.Deferred<DeferredRecord>> | undefined
  /** Set when an interrupt was requested: no new step starts, and the execution ends interrupted. */
  interrupting: boolean
  /** The store write that failed (or the claim lost), if one did: the run stops and records nothing more. */
  abort: WorkflowError | undefined
}

/** What the run loop does next: stop, run again at once, or run again after the store-retry delay. */
export type Outcome = "done" | "again" | "retry"

/** What the scheduler needs of the engine: its limits, its scope, and one run of an execution. */
export interface SchedulerOptions {
  readonly maxRuns: number
  readonly storeRetryMs: number
  /** Run loops are forked here. */
  readonly scope: Scope.Scope
  /**
   * The engine's own context, in which every run loop runs: a run started by `execute` must not take its
   * caller's span, stack frame, logger or annotations (a run resumed later by the timer loop would not).
   */
  readonly context: Context.Context<never>
  /** Whether runs are traced: then a run started by a caller in a span (`execute`, a signal) is that span's child. */
  readonly tracing: boolean
  /** Wakes the timer loop (a sliding queue of one). */
  readonly timerWake: Queue.Queue<void>
  /** Claims and runs an execution once (`runner.ts`). */
  readonly runOnce: (executionId: string, state: RunState) => Effect.Effect<Outcome, unknown>
}

/** The run loop of one execution in this process. */
export interface RunState {
  /** Set by a wake-up while the loop runs: it runs once more before it ends. */
  rerun: boolean
  /** The run in progress, if any. */
  run: LiveRun | undefined
  /**
   * A claim taken for this loop before its run began (at create, or in a batch of the timer loop): the next run
   * uses it instead of claiming. The heartbeat renews it meanwhile, and drops it if it was lost.
   */
  claimed: Claim | undefined
  /** The newest fence this loop has claimed or been handed: a claim handed over with an older one is stale. */
  fence: number
}

/** Run slots and run loops. */
export class Scheduler {
  /** The executions with a run loop here (a suspended one has none). */
  readonly running = new Map<string, RunState>()
  /** Places held by creates in flight that will schedule what they claim. */
  private reserved = 0
  /** Set when work was left in the store for want of room: the next run to end looks for it again. */
  leftWork = false
  /** While a batch claim is in flight: the wake-ups held for after it, and the fences of loops that ended meanwhile. */
  private batch: { readonly woken: Map<string, boolean>; readonly ended: Map<string, number> } | undefined

  /** Wakes the timer loop (a sliding queue of one). */
  readonly timerWake: Queue.Queue<void>

  constructor(private readonly options: SchedulerOptions) {
    this.timerWake = options.timerWake
  }

  /** Free run slots. */
  room(): number {
    return this.options.maxRuns - this.running.size - this.reserved
  }

  hasRoom(): boolean {
    return this.room() > 0
  }

  /** The live run of an execution here, if any. */
  live(executionId: string): LiveRun | undefined {
    return this.running.get(executionId)?.run
  }

  /** Asks the timer loop to look for work now. */
  wakeTimerLoop(): void {
    Queue.offerUnsafe(this.timerWake, undefined)
  }

  /** Holds a run slot for a create that will schedule what it claims; the effect gives it back (once). */
  reserve(): Effect.Effect<void> {
    this.reserved++
    let holds = true
    return Effect.sync(() => {
      if (!holds) return
      holds = false
      this.reserved--
      // A place given back without a run in it: work left for want of room can have it now.
      this.lookAgainIfLeft()
    })
  }

  /** Runs an execution here unless it runs already (then once more) or the engine is full (an interrupt is let in). */
  schedule(executionId: string, claimed?: Claim, interrupting = false): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.batch !== undefined) {
        // A batch claim is in flight: a wake-up waits for it, rather than claim what the batch may have claimed.
        if (claimed === undefined) {
          this.batch.woken.set(executionId, interrupting || this.batch.woken.get(executionId) === true)
          return Effect.void
        }
        // A loop that ended meanwhile had claimed it anew: this claim is older, superseded already.
        if (claimed.fence < (this.batch.ended.get(executionId) ?? 0)) return Effect.void
      }
      const existing = this.running.get(executionId)
      if (existing !== undefined) {
        existing.rerun = true
        // A newer claim (this run's own lapsed, say): the next run uses it; the run in progress, whose fence it
        // superseded, stops at its next write. An older one (a batch claim answered after this loop claimed the
        // execution anew for a wake-up) was superseded already: dropped.
        if (claimed !== undefined && claimed.fence > existing.fence) {
          existing.claimed = claimed
          existing.fence = claimed.fence
        }
        return Effect.void
      }
      if (claimed === undefined && !interrupting && !this.hasRoom()) {
        this.leftWork = true
        return Effect.void
      }
      const state: RunState = { rerun: false, run: undefined, claimed, fence: claimed?.fence ?? 0 }
      this.running.set(executionId, state)
      const loop = this.loop(executionId, state)
      const fork = (context: Context.Context<never>) =>
        Effect.asVoid(Effect.forkIn(Effect.provideContext(loop, context), this.options.scope))
      if (!this.options.tracing) return fork(this.options.context)
      return Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) =>
        fork(Option.isSome(span) ? Context.add(this.options.context, Tracer.ParentSpan, span.value) : this.options.context)
      )
    })
  }

  private lookAgainIfLeft(): void {
    if (this.leftWork) {
      this.leftWork = false
      this.wakeTimerLoop()
    }
  }

  /**
   * Runs a batch claim of the timer loop and schedules each execution with its claim. Wake-ups that arrive
   * while it is in flight are held and scheduled after it (a run already going with its claim then runs once
   * more): a wake-up that claimed on its own could supersede, as the same owner, a claim the batch just took,
   * and that claim's run would then replay the body under a stale fence.
   */
  claimBatch<E>(claim: Effect.Effect<ReadonlyArray<Claim>, E>): Effect.Effect<number, E> {
    return Effect.suspend(() => {
      const batch = { woken: new Map<string, boolean>(), ended: new Map<string, number>() }
      this.batch = batch
      return claim.pipe(
        Effect.flatMap((claims) =>
          Effect.as(
            Effect.forEach(claims, (c) => this.schedule(c.journal.execution.executionId, c), { discard: true }),
            claims.length
          )
        ),
        Effect.ensuring(
          Effect.suspend(() => {
            this.batch = undefined
            return Effect.forEach(batch.woken, ([executionId, interrupting]) =>
              this.schedule(executionId, undefined, interrupting), { discard: true })
          })
        )
      )
    })
  }

  private finished(executionId: string, state: RunState): Effect.Effect<boolean> {
    return Effect.sync(() => {
      if (state.rerun) return false
      this.batch?.ended.set(executionId, state.fence)
      this.running.delete(executionId)
      this.lookAgainIfLeft()
      return true
    })
  }

  private loop(executionId: string, state: RunState): Effect.Effect<void> {
    return Effect.suspend(() => {
      state.rerun = false
      return this.options.runOnce(executionId, state).pipe(
        Effect.catchCause((cause) =>
          Effect.as(
            Effect.logError(`Weft: the run of execution ${executionId} failed; it will be retried`, cause),
            "retry" as const
          )
        ),
        Effect.flatMap((outcome) => {
          if (outcome === "again") return this.loop(executionId, state)
          if (outcome === "retry") {
            return Effect.andThen(sleepLive(this.options.storeRetryMs), this.loop(executionId, state))
          }
          return Effect.flatMap(this.finished(executionId, state), (done) =>
            done ? Effect.void : this.loop(executionId, state)
          )
        })
      )
    })
  }
}
