/**
 * Conformance, claims and leases: `claim` loads the journal under a lease and a fence, `release` gives it up,
 * every fenced write refuses a superseded fence, and `renew` extends only the owner's current claims.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as WorkflowError from "../../WorkflowError.js"
import type * as WorkflowStore from "../../WorkflowStore.js"
import {
  attempt,
  claimOf,
  createSuspended,
  createTerminal,
  detailOf,
  failure,
  getOf,
  LEASE_MS,
  newExecution,
  OWNER_A,
  OWNER_B,
  OWNER_C,
  runnableIds,
  snapshot,
  sorted,
  sortAttempts,
  sortByName,
  type Store,
  success,
  type Suite,
  T0,
  TERMINAL_STATUSES,
  WORKFLOWS
} from "./Harness.js"

/** Registers the tests of claim, release, fencing and renew. */
export const claims = ({ test }: Suite): void => {
  describe("claim and release", () => {
    test("claim of a new execution returns its record, an empty journal and a fence", (store) =>
      Effect.gen(function* () {
        const { record } = yield* store.create(newExecution("e1"))
        const claim = yield* claimOf(store, "e1", OWNER_A, T0 + 1)
        assert.strictEqual(typeof claim.fence, "number")
        assert.deepStrictEqual(claim.journal, { execution: record, attempts: [], deferreds: [], clocks: [] })
      }))

    test("claim loads every attempt, deferred and clock recorded before it, in one call", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const first = yield* claimOf(store, "e1", OWNER_A, T0)
        const attempts = [attempt("charge", 1, "declined"), attempt("charge", 2), attempt("ship", 1)]
        for (const a of attempts) yield* store.recordAttempt("e1", first.fence, a)
        const clocks = [
          { name: "nap", wakeAt: T0 + 60_000 },
          { name: "approval/timeout", wakeAt: T0 + 90_000 }
        ]
        for (const c of clocks) yield* store.recordClock("e1", first.fence, c)
        const raced = { name: "race", exit: success("fast"), completedAt: T0 + 3 }
        yield* store.recordDeferred("e1", first.fence, raced)
        yield* store.release("e1", first.fence)
        const signal = { name: "approval", exit: success(true), completedAt: T0 + 4 }
        yield* store.completeDeferred("e1", signal)

        const claim = yield* claimOf(store, "e1", OWNER_B, T0 + 5)
        assert.deepStrictEqual(claim.journal.execution, yield* getOf(store, "e1"))
        assert.deepStrictEqual(sortAttempts(claim.journal.attempts), sortAttempts(attempts))
        assert.deepStrictEqual(sortByName(claim.journal.deferreds), sortByName([raced, signal]))
        assert.deepStrictEqual(sortByName(claim.journal.clocks), sortByName(clocks))
      }))

    test("claim returns none for an unknown execution", (store) =>
      Effect.gen(function* () {
        assert.isTrue(Option.isNone(yield* store.claim("missing", OWNER_A, T0)))
      }))

    test("claim returns none for a succeeded, failed or interrupted execution", (store) =>
      Effect.gen(function* () {
        for (const status of TERMINAL_STATUSES) {
          yield* createTerminal(store, status, status)
          assert.isTrue(Option.isNone(yield* store.claim(status, OWNER_A, T0 + 1)), status)
          assert.isTrue(Option.isNone(yield* store.claim(status, OWNER_B, T0 + 10 * LEASE_MS)), status)
        }
      }))

    test("claim returns none while another owner's lease is live and succeeds once it has passed", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 1)))
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + LEASE_MS - 1)))
        const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
        assert.notStrictEqual(b.fence, a.fence)
        // The new claim holds its own lease: the first owner cannot take it back before that one passes.
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_A, T0 + LEASE_MS + 2)))
        assert.strictEqual((yield* failure(store.recordAttempt("e1", a.fence, attempt("x", 1)))).reason, "LeaseLost")
        yield* store.recordAttempt("e1", b.fence, attempt("x", 1))
      }))

    test("the same owner may claim again while its lease is live, and the new fence supersedes the old", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const first = yield* claimOf(store, "e1", OWNER_A, T0)
        const second = yield* claimOf(store, "e1", OWNER_A, T0 + 1)
        assert.notStrictEqual(second.fence, first.fence)
        assert.strictEqual(
          (yield* failure(store.recordAttempt("e1", first.fence, attempt("x", 1)))).reason,
          "LeaseLost"
        )
        yield* store.recordAttempt("e1", second.fence, attempt("x", 1))
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 2)))
      }))

    test("claim returns none for a suspended execution until a wake-up makes it running", (store) =>
      Effect.gen(function* () {
        yield* createSuspended(store, "e1", T0 + 60_000)
        const before = yield* getOf(store, "e1")
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 1)))
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 10 * LEASE_MS)))
        assert.deepStrictEqual(yield* getOf(store, "e1"), before)
        yield* store.wake("e1", T0 + 10 * LEASE_MS + 1)
        const claim = yield* claimOf(store, "e1", OWNER_B, T0 + 10 * LEASE_MS + 2)
        assert.strictEqual(claim.journal.execution.status, "running")
      }))

    test("release frees the execution for another owner at once, changes nothing else, and ends the fence", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        yield* store.recordAttempt("e1", a.fence, attempt("charge", 1))
        const before = snapshot(yield* detailOf(store, "e1"))
        yield* store.release("e1", a.fence)
        assert.deepStrictEqual(yield* detailOf(store, "e1"), before)
        assert.strictEqual(
          (yield* failure(store.recordAttempt("e1", a.fence, attempt("ship", 1)))).reason,
          "LeaseLost"
        )
        const b = yield* claimOf(store, "e1", OWNER_B, T0 + 1)
        assert.deepStrictEqual(b.journal.attempts, [attempt("charge", 1)])
      }))

    test("release with a superseded fence leaves the current claim in place", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
        // Whether a stale release fails is left open; it must not free the current claim.
        yield* Effect.ignore(store.release("e1", a.fence))
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_C, T0 + LEASE_MS + 2)))
        yield* store.recordAttempt("e1", b.fence, attempt("charge", 1))
      }))
  })

  describe("versions", () => {
    // Worker A runs Order 1 and 2, Ship 1; Order 3 and Ship 2 are others'.
    const A: WorkflowStore.Versions = new Map([["Order", [1, 2]], ["Ship", [1]]])

    test("create keeps the version (default 1), and claim with versions takes only a (workflow, version) they list", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("plain"))
        const versions = { o2: ["Order", 2], o3: ["Order", 3], s1: ["Ship", 1], s2: ["Ship", 2] } as const
        for (const [id, [workflow, version]] of Object.entries(versions)) {
          const { record } = yield* store.create(newExecution(id, { workflow, version }))
          assert.strictEqual(record.version, version, id)
          assert.strictEqual((yield* getOf(store, id)).version, version, id)
        }
        assert.strictEqual((yield* getOf(store, "plain")).version, 1)
        for (const id of ["o3", "s2"]) {
          assert.isTrue(Option.isNone(yield* store.claim(id, OWNER_A, T0, A)), id)
          // Refused, it is untouched: another worker claims it as if nothing happened.
          assert.strictEqual((yield* claimOf(store, id, OWNER_B, T0, new Map([["Order", [3]], ["Ship", [2]]]))).journal.execution.executionId, id)
        }
        for (const id of ["plain", "o2", "s1"]) {
          const claimed = yield* claimOf(store, id, OWNER_A, T0, A)
          assert.strictEqual(claimed.journal.execution.version, versions[id as keyof typeof versions]?.[1] ?? 1, id)
        }
        // An empty filter runs nothing; no filter, any version.
        yield* store.create(newExecution("o9", { version: 9 }))
        assert.isTrue(Option.isNone(yield* store.claim("o9", OWNER_A, T0, new Map())))
        assert.isTrue(Option.isSome(yield* store.claim("o9", OWNER_A, T0)))
      }))

    test("claimRunnable with versions takes only a (workflow, version) they list, and leaves the rest for others", (store) =>
      Effect.gen(function* () {
        const made = { o1: ["Order", 1], o2: ["Order", 2], o3: ["Order", 3], s1: ["Ship", 1], s2: ["Ship", 2] } as const
        for (const [id, [workflow, version]] of Object.entries(made)) yield* store.create(newExecution(id, { workflow, version }))
        const claims = yield* store.claimRunnable(OWNER_A, T0 + 1, 10, WORKFLOWS, A)
        assert.deepStrictEqual(sorted(claims.map((c) => c.journal.execution.executionId)), ["o1", "o2", "s1"])
        const rest = yield* store.claimRunnable(OWNER_B, T0 + 1, 10, WORKFLOWS, new Map([["Order", [3]], ["Ship", [2]]]))
        assert.deepStrictEqual(sorted(rest.map((c) => c.journal.execution.executionId)), ["o3", "s2"])
      }))

    test("runnable with versions answers only a (workflow, version) they list; due timers fire whatever the version", (store) =>
      Effect.gen(function* () {
        const made = { o1: ["Order", 1], o3: ["Order", 3], s2: ["Ship", 2] } as const
        for (const [id, [workflow, version]] of Object.entries(made)) yield* store.create(newExecution(id, { workflow, version }))
        yield* createSuspended(store, "o3-due", T0 + 10, T0, "Order", 3)
        const ids = (found: ReadonlyArray<{ readonly executionId: string }>) => sorted(found.map((r) => r.executionId))
        assert.deepStrictEqual(ids(yield* store.runnable(T0 + 20, 10, WORKFLOWS, A)), ["o1"])
        // The due timer fired for everyone: another worker finds it runnable.
        assert.strictEqual((yield* getOf(store, "o3-due")).status, "running")
        assert.deepStrictEqual(ids(yield* store.runnable(T0 + 20, 10, WORKFLOWS, new Map([["Order", [3]]]))), ["o3", "o3-due"])
        assert.deepStrictEqual(ids(yield* store.runnable(T0 + 20, 10, WORKFLOWS)), ["o1", "o3", "o3-due", "s2"])
      }))
  })

  describe("claimRunnable", () => {
    const idsOf = (claims: ReadonlyArray<{ readonly journal: { readonly execution: { readonly executionId: string } } }>) =>
      sorted(claims.map((c) => c.journal.execution.executionId))

    test("claimRunnable claims running executions nobody holds, each with its journal and a fence, and no others", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("free"))
        yield* store.create(newExecution("released"))
        const released = yield* claimOf(store, "released", OWNER_B, T0)
        yield* store.recordAttempt("released", released.fence, attempt("charge", 1))
        yield* store.release("released", released.fence)
        yield* store.create(newExecution("held"))
        yield* claimOf(store, "held", OWNER_B, T0)
        yield* store.create(newExecution("lapsed"))
        yield* claimOf(store, "lapsed", OWNER_B, T0 - LEASE_MS - 1)
        yield* createSuspended(store, "sleeping", T0 + 60_000)
        yield* createTerminal(store, "done", "succeeded")
        yield* store.create(newExecution("other-workflow", { workflow: "Elsewhere" }))

        const claims = yield* store.claimRunnable(OWNER_A, T0 + 1, 10, WORKFLOWS)
        assert.deepStrictEqual(idsOf(claims), ["free", "lapsed", "released"])
        for (const claim of claims) {
          const id = claim.journal.execution.executionId
          assert.deepStrictEqual(claim.journal.execution, yield* getOf(store, id), id)
          // The claim holds: another owner cannot take it, a write under its fence goes through.
          assert.isTrue(Option.isNone(yield* store.claim(id, OWNER_C, T0 + 2)), id)
          yield* store.recordAttempt(id, claim.fence, attempt("ship", 1))
        }
        const releasedClaim = claims.find((c) => c.journal.execution.executionId === "released")!
        assert.deepStrictEqual(releasedClaim.journal.attempts, [attempt("charge", 1)])
        // Nothing is left for anyone: a second claimer gets none of them.
        assert.deepStrictEqual(yield* store.claimRunnable(OWNER_B, T0 + 2, 10, WORKFLOWS), [])
        assert.deepStrictEqual(yield* runnableIds(store, T0 + 2, 10), [])
      }))

    test("claimRunnable claims at most limit, and the next call the rest", (store) =>
      Effect.gen(function* () {
        const ids = ["r1", "r2", "r3", "r4", "r5"]
        for (const id of ids) yield* store.create(newExecution(id))
        const first = yield* store.claimRunnable(OWNER_A, T0 + 1, 2, WORKFLOWS)
        const second = yield* store.claimRunnable(OWNER_B, T0 + 1, 2, WORKFLOWS)
        const third = yield* store.claimRunnable(OWNER_A, T0 + 1, 2, WORKFLOWS)
        assert.strictEqual(first.length, 2)
        assert.strictEqual(second.length, 2)
        assert.strictEqual(third.length, 1)
        assert.deepStrictEqual(sorted([...idsOf(first), ...idsOf(second), ...idsOf(third)]), ids)
        assert.deepStrictEqual(yield* store.claimRunnable(OWNER_A, T0 + 1, 0, WORKFLOWS), [])
        assert.deepStrictEqual(yield* store.claimRunnable(OWNER_A, T0 + 1, 10, []), [])
      }))

    test("claimRunnable fires due timers first and claims those executions, leaving timers not yet due", (store) =>
      Effect.gen(function* () {
        yield* createSuspended(store, "due", T0 + 100)
        yield* createSuspended(store, "later", T0 + 60_000)
        const claims = yield* store.claimRunnable(OWNER_A, T0 + 200, 10, WORKFLOWS)
        assert.deepStrictEqual(idsOf(claims), ["due"])
        assert.strictEqual(claims[0]!.journal.execution.status, "running")
        assert.strictEqual((yield* getOf(store, "later")).status, "suspended")
      }))

    test("claimRunnable supersedes a lapsed claim: the old fence is refused, renew reports it lost", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        assert.deepStrictEqual(yield* store.claimRunnable(OWNER_B, T0 + LEASE_MS - 1, 10, WORKFLOWS), [])
        const [b] = yield* store.claimRunnable(OWNER_B, T0 + LEASE_MS + 1, 10, WORKFLOWS)
        assert.isDefined(b)
        assert.notStrictEqual(b!.fence, a.fence)
        assert.strictEqual((yield* failure(store.recordAttempt("e1", a.fence, attempt("x", 1)))).reason, "LeaseLost")
        assert.isFalse((yield* renewOne(store, "e1", a.fence, T0 + LEASE_MS + 2)).held)
        assert.isTrue((yield* renewOne(store, "e1", b!.fence, T0 + LEASE_MS + 2, OWNER_B)).held)
      }))

    test("claimRunnable by two owners at the same instant hands each execution to exactly one", (store) =>
      Effect.gen(function* () {
        const ids = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, "0")}`)
        for (const id of ids) yield* store.create(newExecution(id))
        const claimer = (owner: string) =>
          Effect.gen(function* () {
            const mine: Array<string> = []
            for (;;) {
              const claims = yield* store.claimRunnable(owner, T0 + 1, 3, WORKFLOWS)
              if (claims.length === 0) return mine
              mine.push(...idsOf(claims))
            }
          })
        const [a, b] = yield* Effect.all([claimer(OWNER_A), claimer(OWNER_B)], { concurrency: 2 })
        assert.deepStrictEqual(sorted([...a, ...b]), ids)
      }))
  })

  describe("fencing", () => {
    for (const write of FENCED_WRITES) {
      test(`${write.name} with a fence superseded by another claim fails with LeaseLost and writes nothing`, (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
          const before = snapshot(yield* detailOf(store, "e1"))
          const error = yield* failure(write.run(store, "e1", a.fence, before.execution.wakeSeq))
          assert.instanceOf(error, WorkflowError.WorkflowError)
          assert.strictEqual(error.reason, "LeaseLost")
          assert.deepStrictEqual(yield* detailOf(store, "e1"), before)
          // The same write under the live fence goes through: the fence, not the write, was refused.
          yield* write.run(store, "e1", b.fence, before.execution.wakeSeq)
        }))

      test(`${write.name} after the claim was released fails with LeaseLost and writes nothing`, (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          yield* store.release("e1", a.fence)
          const before = snapshot(yield* detailOf(store, "e1"))
          const error = yield* failure(write.run(store, "e1", a.fence, before.execution.wakeSeq))
          assert.strictEqual(error.reason, "LeaseLost")
          assert.deepStrictEqual(yield* detailOf(store, "e1"), before)
        }))
    }
  })

  describe("renew", () => {
    test("renew extends a live claim past its first lease and changes nothing else", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        const before = yield* getOf(store, "e1")
        assert.deepStrictEqual(yield* renewOne(store, "e1", a.fence, T0 + LEASE_MS - 1), {
          held: true,
          interruptRequested: false
        })
        assert.deepStrictEqual(yield* getOf(store, "e1"), before)
        assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + LEASE_MS + 1)))
        assert.deepStrictEqual(yield* runnableIds(store, T0 + LEASE_MS + 1, 10), [])
        yield* store.recordAttempt("e1", a.fence, attempt("charge", 1))
        const b = yield* claimOf(store, "e1", OWNER_B, T0 + 2 * LEASE_MS + 1)
        assert.notStrictEqual(b.fence, a.fence)
      }))

    test("renew answers a whole heartbeat in order, holding only the owner's current claims", (store) =>
      Effect.gen(function* () {
        for (const id of ["h1", "h2", "h3"]) yield* store.create(newExecution(id))
        const h1 = yield* claimOf(store, "h1", OWNER_A, T0)
        const h2 = yield* claimOf(store, "h2", OWNER_A, T0)
        const h3 = yield* claimOf(store, "h3", OWNER_B, T0)
        const renewed = yield* store.renew(
          OWNER_A,
          [
            { executionId: "h2", fence: h2.fence },
            { executionId: "h3", fence: h3.fence },
            { executionId: "h1", fence: h1.fence },
            { executionId: "missing", fence: 1 }
          ],
          T0 + LEASE_MS - 1
        )
        assert.deepStrictEqual(
          renewed.map((r) => r.held),
          [true, false, true, false]
        )
        assert.isTrue(Option.isNone(yield* store.claim("h1", OWNER_C, T0 + LEASE_MS + 1)))
        assert.isTrue(Option.isSome(yield* store.claim("h3", OWNER_C, T0 + LEASE_MS + 1)))
        assert.deepStrictEqual(yield* store.renew(OWNER_A, [], T0), [])
      }))

    test("renew with a fence the same owner superseded reports not held and extends nothing", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const first = yield* claimOf(store, "e1", OWNER_A, T0)
        const second = yield* claimOf(store, "e1", OWNER_A, T0 + 1)
        assert.deepStrictEqual(yield* renewOne(store, "e1", first.fence, T0 + LEASE_MS), {
          held: false,
          interruptRequested: false
        })
        // The second claim's lease was not extended: it passes on its own schedule and another owner claims.
        const other = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 2)
        assert.notStrictEqual(other.fence, second.fence)
      }))

    test("renew reports an interrupt requested while the claim holds", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const a = yield* claimOf(store, "e1", OWNER_A, T0)
        yield* store.requestInterrupt("e1", T0 + 1)
        assert.deepStrictEqual(yield* renewOne(store, "e1", a.fence, T0 + 2), { held: true, interruptRequested: true })
      }))

    test("renew reports not held, and extends nothing, for a superseded, released or finished claim or an unknown execution", (store) =>
      Effect.gen(function* () {
        assert.isFalse((yield* renewOne(store, "missing", 1, T0)).held)
        assert.isTrue(Option.isNone(yield* store.get("missing")))

        yield* store.create(newExecution("superseded"))
        const a = yield* claimOf(store, "superseded", OWNER_A, T0)
        yield* claimOf(store, "superseded", OWNER_B, T0 + LEASE_MS + 1)
        assert.isFalse((yield* renewOne(store, "superseded", a.fence, T0 + 2 * LEASE_MS)).held)
        // The stale renewal did not extend the current claim, which ends on its own schedule.
        assert.isTrue(Option.isSome(yield* store.claim("superseded", OWNER_C, T0 + 2 * LEASE_MS + 2)))

        yield* store.create(newExecution("released"))
        const released = yield* claimOf(store, "released", OWNER_A, T0)
        yield* store.release("released", released.fence)
        assert.isFalse((yield* renewOne(store, "released", released.fence, T0 + 1)).held)
        assert.isTrue(Option.isSome(yield* store.claim("released", OWNER_B, T0 + 2)))

        yield* store.create(newExecution("suspended"))
        const suspended = yield* claimOf(store, "suspended", OWNER_A, T0)
        yield* store.suspend("suspended", suspended.fence, suspended.journal.execution.wakeSeq, undefined, T0 + 1)
        assert.isFalse((yield* renewOne(store, "suspended", suspended.fence, T0 + 2)).held)

        yield* store.create(newExecution("finished"))
        const finished = yield* claimOf(store, "finished", OWNER_A, T0)
        yield* store.complete("finished", finished.fence, { status: "succeeded", result: success(1), at: T0 + 1 })
        assert.isFalse((yield* renewOne(store, "finished", finished.fence, T0 + 2)).held)
        assert.strictEqual((yield* getOf(store, "finished")).status, "succeeded")
      }))
  })
}

/** Renews one claim of `owner` (OWNER_A by default). */
const renewOne = (store: Store, executionId: string, fence: number, now: number, owner: string = OWNER_A) =>
  Effect.map(store.renew(owner, [{ executionId, fence }], now), (renewed) => renewed[0]!)

/** Each fenced write, runnable with any fence; suspend gets the current wakeSeq, so only the fence can refuse it. */
const FENCED_WRITES: ReadonlyArray<{
  readonly name: string
  readonly run: (
    store: Store,
    executionId: string,
    fence: number,
    wakeSeq: number
  ) => Effect.Effect<unknown, WorkflowError.WorkflowError>
}> = [
  { name: "recordAttempt", run: (store, id, fence) => store.recordAttempt(id, fence, attempt("charge", 1)) },
  {
    name: "recordClock",
    run: (store, id, fence) => store.recordClock(id, fence, { name: "nap", wakeAt: T0 + 60_000 })
  },
  {
    name: "recordDeferred",
    run: (store, id, fence) => store.recordDeferred(id, fence, { name: "race", exit: success(1), completedAt: T0 })
  },
  { name: "suspend", run: (store, id, fence, wakeSeq) => store.suspend(id, fence, wakeSeq, T0 + 60_000, T0 + 2_000) },
  {
    name: "complete",
    run: (store, id, fence) => store.complete(id, fence, { status: "succeeded", result: success(1), at: T0 + 2_000 })
  },
  {
    name: "appendEvent (compensated)",
    run: (store, id, fence) => store.appendEvent(id, fence, { kind: "compensated", at: T0 + 2_000, detail: "1 compensation(s)" })
  }
]
