/**
 * Conformance, recoveries: a claim that takes an execution over from an owner whose lease lapsed logs exactly one
 * `taken-over` event (previous owner, new owner, the lease's end, what the lost run had in flight at its last
 * heartbeat), in the claim's own write; every other claim logs nothing. Clocks keep the time they were set.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as StoreRules from "../../StoreRules.js"
import type * as WorkflowStore from "../../WorkflowStore.js"
import {
  claimOf,
  createSuspended,
  detailOf,
  LEASE_MS,
  newExecution,
  OWNER_A,
  OWNER_B,
  OWNER_C,
  sortByName,
  type Store,
  success,
  type Suite,
  T0,
  WORKFLOWS
} from "./Harness.js"

/** The `taken-over` events of an execution's log. */
const takeovers = (store: Store, executionId: string) =>
  Effect.map(detailOf(store, executionId), (detail) => detail.events.filter((e) => e.kind === StoreRules.takeoverKind))

/** The one `taken-over` event of an execution, read. */
const onlyTakeover = (store: Store, executionId: string) =>
  Effect.map(takeovers(store, executionId), (events) => {
    assert.strictEqual(events.length, 1, `one taken-over event for ${executionId}`)
    const takeover = StoreRules.takeoverOf(events[0]!.detail)
    assert.isDefined(takeover, `a readable detail: ${events[0]!.detail}`)
    return { at: events[0]!.at, ...takeover! }
  })

/** Registers the tests of takeovers and clock set times. */
export const recoveries = ({ test }: Suite): void => {
  describe("recoveries", () => {
    test("a claim of a lapsed lease logs one taken-over event: the previous owner, the new one, the lease's end, what was in flight", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        const inFlight = [{ name: "charge", attempt: 2 }, { name: "ship/ü \"1\"", attempt: 1 }]
        const [renewed] = yield* store.renew(OWNER_A, [{ executionId: "e1", fence: a.fence, inFlight }], T0 + 100)
        assert.isTrue(renewed!.held)
        assert.deepStrictEqual(yield* takeovers(store, "e1"), [])
        const at = T0 + 100 + LEASE_MS + 1
        const b = yield* claimOf(store, "e1", OWNER_B, at)
        assert.deepStrictEqual(yield* onlyTakeover(store, "e1"), {
          at,
          from: OWNER_A,
          to: OWNER_B,
          leaseEndedAt: T0 + 100 + LEASE_MS,
          inFlight
        })
        // The claim itself is as any other: the record is unchanged, the new fence holds.
        assert.deepStrictEqual(b.journal.execution, a.journal.execution)
        const [held] = yield* store.renew(OWNER_B, [{ executionId: "e1", fence: b.fence }], at + 1)
        assert.isTrue(held!.held)
      }))

    test("claimRunnable logs a takeover as claim does; a lease no heartbeat renewed has nothing known in flight", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("lapsed"))
        yield* store.create(newExecution("free"))
        yield* claimOf(store, "lapsed", OWNER_A, T0)
        const claims = yield* store.claimRunnable(OWNER_B, T0 + LEASE_MS + 1, 10, WORKFLOWS)
        assert.strictEqual(claims.length, 2)
        assert.deepStrictEqual(yield* onlyTakeover(store, "lapsed"), {
          at: T0 + LEASE_MS + 1,
          from: OWNER_A,
          to: OWNER_B,
          leaseEndedAt: T0 + LEASE_MS,
          inFlight: undefined
        })
        assert.deepStrictEqual(yield* takeovers(store, "free"), [])
      }))

    test("a heartbeat with nothing in flight says so; a takeover's claim starts with nothing known of its own run", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        yield* store.renew(OWNER_A, [{ executionId: "e1", fence: a.fence, inFlight: [] }], T0)
        yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
        // OWNER_B's lease lapses before any heartbeat of its own: what OWNER_A had in flight is not OWNER_B's.
        yield* claimOf(store, "e1", OWNER_C, T0 + 2 * LEASE_MS + 2)
        const events = yield* takeovers(store, "e1")
        assert.deepStrictEqual(
          events.map((e) => ({ at: e.at, ...StoreRules.takeoverOf(e.detail) })),
          [
            { at: T0 + LEASE_MS + 1, from: OWNER_A, to: OWNER_B, leaseEndedAt: T0 + LEASE_MS, inFlight: [] },
            {
              at: T0 + 2 * LEASE_MS + 2,
              from: OWNER_B,
              to: OWNER_C,
              leaseEndedAt: T0 + 2 * LEASE_MS + 1,
              inFlight: undefined
            }
          ]
        )
      }))

    test("no other claim logs an event: a new execution, the owner again, after a release, a resume, a fired timer, a refused claim", (store) =>
      Effect.gen(function* () {
        const eventsOf = (id: string) => Effect.map(detailOf(store, id), (d) => d.events.map((e) => e.kind))

        yield* store.create(newExecution("new"))
        yield* claimOf(store, "new", OWNER_A, T0)
        // Refused while OWNER_A's lease lives.
        assert.isTrue(Option.isNone(yield* store.claim("new", OWNER_B, T0 + 1)))
        // The owner itself, while its lease lives and after it lapsed.
        yield* claimOf(store, "new", OWNER_A, T0 + 2)
        yield* claimOf(store, "new", OWNER_A, T0 + 10 * LEASE_MS)
        assert.deepStrictEqual(yield* eventsOf("new"), ["started"])

        yield* store.create(newExecution("released"))
        const released = yield* claimOf(store, "released", OWNER_A, T0)
        yield* store.release("released", released.fence)
        yield* claimOf(store, "released", OWNER_B, T0 + 10 * LEASE_MS)
        assert.deepStrictEqual(yield* eventsOf("released"), ["started"])

        yield* createSuspended(store, "resumed", undefined)
        assert.isTrue(yield* store.wake("resumed", T0 + 1))
        yield* claimOf(store, "resumed", OWNER_B, T0 + 10 * LEASE_MS)
        assert.deepStrictEqual(yield* eventsOf("resumed"), ["started", "suspended", "resumed"])

        yield* createSuspended(store, "timer", T0 + 100)
        const [fired] = yield* store.claimRunnable(OWNER_B, T0 + 10 * LEASE_MS, 10, WORKFLOWS)
        assert.strictEqual(fired?.journal.execution.executionId, "timer")
        assert.deepStrictEqual(yield* eventsOf("timer"), ["started", "suspended"])

        yield* store.create(newExecution("signalled"))
        const signalled = yield* claimOf(store, "signalled", OWNER_A, T0)
        yield* store.completeDeferred("signalled", { name: "approval", exit: success(1), completedAt: T0 + 1 })
        // The signal kept OWNER_A's claim: its own claim again is no takeover.
        yield* claimOf(store, "signalled", OWNER_A, T0 + 2)
        assert.isTrue(Option.isNone(yield* store.claim("signalled", OWNER_B, T0 + 3)))
        yield* Effect.ignore(store.release("signalled", signalled.fence))
        assert.deepStrictEqual(yield* eventsOf("signalled"), ["started", "signal-received"])
      }))

    test("a clock keeps the time it was set, and one stored without it reads back without it", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        const nap: WorkflowStore.ClockRecord = { name: "nap", wakeAt: T0 + 60_000, setAt: T0 + 5 }
        const old: WorkflowStore.ClockRecord = { name: "old", wakeAt: T0 + 90_000 }
        assert.deepStrictEqual(yield* store.recordClock("e1", a.fence, nap), nap)
        assert.deepStrictEqual(yield* store.recordClock("e1", a.fence, old), old)
        // First wins: the stored clock, with its own set time, is returned to a later write.
        assert.deepStrictEqual(yield* store.recordClock("e1", a.fence, { ...nap, wakeAt: T0 + 1, setAt: T0 + 1 }), nap)
        yield* store.release("e1", a.fence)
        const b = yield* claimOf(store, "e1", OWNER_B, T0 + 1)
        assert.deepStrictEqual(sortByName(b.journal.clocks), [nap, old])
        assert.deepStrictEqual(sortByName((yield* detailOf(store, "e1")).clocks), [nap, old])
      }))
  })
}
