/**
 * The result waiters of this process, by execution: callers of `execute` wait on one until the execution's
 * end is handed over (`results.ts` says by whom), or the engine closes and releases them all.
 */
import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import type { WorkflowError } from "../WorkflowError.js"
import type { EncodedExit } from "../WorkflowStore.js"

/** One execution's waiter, with how many `execute` calls await it. */
export interface Waiter {
  readonly done: Deferred.Deferred<EncodedExit, WorkflowError>
  callers: number
}

/** The result waiters of this process, by execution. */
export class Waiters {
  private readonly waiters = new Map<string, Waiter>()

  has(executionId: string): boolean {
    return this.waiters.has(executionId)
  }

  /** The executions someone here waits for. */
  ids(): Array<string> {
    return [...this.waiters.keys()]
  }

  /** Joins (or makes) the waiter of an execution; `leave` when done waiting. */
  join(executionId: string): Waiter {
    let waiter = this.waiters.get(executionId)
    if (waiter === undefined) this.waiters.set(executionId, (waiter = { done: Deferred.makeUnsafe(), callers: 0 }))
    waiter.callers++
    return waiter
  }

  /** The last caller to give up (an error, an interrupt) takes the waiter away: nobody polls for it then. */
  leave(executionId: string, waiter: Waiter): void {
    if (--waiter.callers === 0 && this.waiters.get(executionId) === waiter) this.waiters.delete(executionId)
  }

  /** Hands an execution's result to its waiters. */
  notify(executionId: string, result: EncodedExit): void {
    const waiter = this.waiters.get(executionId)
    if (waiter !== undefined) {
      this.waiters.delete(executionId)
      Deferred.doneUnsafe(waiter.done, Exit.succeed(result))
    }
  }

  /** Fails an execution's waiters (its stored row no longer reads). */
  fail(executionId: string, error: WorkflowError): void {
    const waiter = this.waiters.get(executionId)
    if (waiter !== undefined) {
      this.waiters.delete(executionId)
      Deferred.doneUnsafe(waiter.done, Exit.fail(error))
    }
  }

  /** Releases every waiter with an interrupt: the engine is closing. */
  releaseAll(): void {
    for (const waiter of this.waiters.values()) Deferred.doneUnsafe(waiter.done, Exit.interrupt())
    this.waiters.clear()
  }
}
