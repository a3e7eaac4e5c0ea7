/**
 * Conformance, the rules as data: every write changes an execution's record and appends the event exactly as its
 * row of `StoreRules.transitions` says, from every status, and changes nothing from a status the row refuses.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as StoreRules from "../../StoreRules.js"
import * as WorkflowStore from "../../WorkflowStore.js"
import {
  claimOf,
  createSuspended,
  createTerminal,
  detailOf,
  EXIT_OF,
  newExecution,
  OWNER_A,
  type Store,
  type Suite,
  T0,
  WORKFLOWS
} from "./Harness.js"

/** When the write under test happens: after the suspended execution's timer is due. */
const AT = T0 + 100_000

/** The suspended execution's timer. */
const WAKE_AT = T0 + 60_000

/**
 * An unfenced write of the rules, made through the store's method: `write` returns what the method reports
 * (`wake`'s boolean, `completeDeferred`'s `applied`), or undefined where it reports nothing per execution.
 */
interface Case {
  readonly transition: StoreRules.Transition
  readonly input: StoreRules.TransitionInput
  readonly write: (store: Store, executionId: string) => Effect.Effect<boolean | undefined, unknown>
  /** What `write` must report, given whether the row admits the execution's status. */
  readonly reports: (admitted: boolean) => boolean | undefined
}

const T = StoreRules.transitions

const signal = (store: Store, executionId: string, exit: unknown) =>
  Effect.map(store.completeDeferred(executionId, { name: "approval", exit, completedAt: AT }), (r) => r.applied)

const CASES: Record<"wake" | "requestInterrupt" | "reopen" | "signalApplied" | "signalRefused" | "timerFired", Case> = {
  wake: { transition: T.wake, input: {}, write: (store, id) => store.wake(id, AT), reports: (admitted) => admitted },
  requestInterrupt: {
    transition: T.requestInterrupt,
    input: {},
    write: (store, id) => store.requestInterrupt(id, AT),
    reports: (admitted) => admitted
  },
  reopen: { transition: T.reopen, input: {}, write: (store, id) => store.reopen(id, AT), reports: (admitted) => admitted },
  // Stored, whatever the status: only a live execution is woken.
  signalApplied: {
    transition: T.signalApplied,
    input: { deferred: "approval" },
    write: (store, id) => signal(store, id, EXIT_OF.succeeded),
    reports: () => true
  },
  signalRefused: {
    transition: T.signalRefused,
    input: { deferred: "approval" },
    write: (store, id) => signal(store, id, EXIT_OF.failed),
    reports: () => false
  },
  timerFired: {
    transition: T.timerFired,
    input: {},
    write: (store) => Effect.as(store.runnable(AT, 100, WORKFLOWS), undefined),
    reports: () => undefined
  }
}

/**
 * Puts execution `executionId` in `status`: a running one claimed by OWNER_A (its fence is returned), a
 * suspended one with a timer.
 */
const inStatus = (store: Store, executionId: string, status: WorkflowStore.ExecutionStatus) =>
  Effect.gen(function* () {
    if (status === "suspended") return yield* Effect.as(createSuspended(store, executionId, WAKE_AT), undefined)
    if (status !== "running") return yield* Effect.as(createTerminal(store, executionId, status), undefined)
    yield* store.create(newExecution(executionId))
    return (yield* claimOf(store, executionId, OWNER_A, T0)).fence
  })

/** Registers the tests that hold each store to the rules' table. */
export const rules = ({ test }: Suite): void => {
  describe("the rules (StoreRules.transitions)", () => {
    test("create inserts the record of newRecord and appends the event its row names", (store) =>
      Effect.gen(function* () {
        const execution = newExecution("e1")
        const { record } = yield* store.create(execution)
        assert.deepStrictEqual(record, StoreRules.newRecord(execution))
        const detail = yield* detailOf(store, "e1")
        assert.deepStrictEqual<ReadonlyArray<WorkflowStore.EventRecord | undefined>>(detail.events, [
          StoreRules.transitionEvent(T.create, T0)
        ])
      }))

    test("suspend and complete change a claimed execution and log as their rows say", (store) =>
      Effect.gen(function* () {
        const suspend = T.suspend
        yield* store.create(newExecution("s"))
        const s = yield* claimOf(store, "s", OWNER_A, T0)
        assert.isTrue(yield* store.suspend("s", s.fence, s.journal.execution.wakeSeq, WAKE_AT, AT))
        const suspended = yield* detailOf(store, "s")
        assert.deepStrictEqual(suspended.execution, StoreRules.applyTransition(s.journal.execution, suspend, AT, { wakeAt: WAKE_AT }))
        assert.deepStrictEqual(suspended.events.at(-1), StoreRules.transitionEvent(suspend, AT))
        for (const status of WorkflowStore.terminalStatuses) {
          const complete = T.complete
          const completion = { status, result: EXIT_OF[status], at: AT }
          yield* store.create(newExecution(status))
          const c = yield* claimOf(store, status, OWNER_A, T0)
          yield* store.complete(status, c.fence, completion)
          const ended = yield* detailOf(store, status)
          assert.deepStrictEqual(ended.execution, StoreRules.applyTransition(c.journal.execution, complete, AT, { completion }))
          assert.deepStrictEqual(ended.events.at(-1), StoreRules.transitionEvent(complete, AT, { completion }))
        }
      }))

    for (const [name, { input, reports, transition, write }] of Object.entries(CASES)) {
      test(`${name} changes an execution from each status its row admits as the row says, and from no other`, (store) =>
        Effect.gen(function* () {
          for (const status of WorkflowStore.statuses) {
            const id = `${name}-${status}`
            const label = `${name} from ${status}`
            const fence = yield* inStatus(store, id, status)
            // A refused signal is a second completion of one deferred: the first one is applied before it.
            if (transition === T.signalRefused) yield* signal(store, id, EXIT_OF.succeeded)
            const before = yield* detailOf(store, id)
            const admitted = StoreRules.admits(transition, status)
            assert.strictEqual(yield* write(store, id), reports(admitted), label)
            const after = yield* detailOf(store, id)
            const expected = admitted ? StoreRules.applyTransition(before.execution, transition, AT, input) : before.execution
            assert.deepStrictEqual(after.execution, expected, label)
            const event = admitted || transition.otherwise === "log"
              ? StoreRules.transitionEvent(transition, AT, input)
              : undefined
            assert.deepStrictEqual(after.events.slice(before.events.length), event === undefined ? [] : [event], label)
            if (fence !== undefined) {
              // The claim OWNER_A took before the write: kept, or released, as the row says.
              const [renewed] = yield* store.renew(OWNER_A, [{ executionId: id, fence }], AT)
              assert.strictEqual(renewed?.held, transition.claim !== "release", label)
            }
          }
        }))
    }
  })
}
