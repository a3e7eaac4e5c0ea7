/**
 * Conformance, the optional capabilities: `transaction` commits all or nothing, and `notifications` announce new
 * work, interrupts, queue items, schedule writes and the ends of awaited executions. A store without them: skipped.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type * as WorkflowStore from "../../WorkflowStore.js"
import {
  attempt,
  claimOf,
  detailOf,
  getOf,
  newExecution,
  OWNER_A,
  OWNER_B,
  queueItem,
  type Store,
  success,
  type Suite,
  T0,
  waitUntil
} from "./Harness.js"

/** Registers the tests of transaction and notifications. */
export const optional = ({ testOptional }: Suite): void => {
  describe("transaction and notifications", () => {
    testOptional("transaction (where the store has it) commits the writes inside it together, and none of them when its effect fails", "transaction", (store, transaction) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const claim = yield* claimOf(store, "e1", OWNER_A, T0)
        const writes = Effect.andThen(
          store.recordAttempt("e1", claim.fence, attempt("charge", 1)),
          store.create(newExecution("e2"))
        )
        const failed = yield* Effect.result(transaction(Effect.andThen(writes, Effect.fail("declined" as const))))
        assert.isTrue(Result.isFailure(failed) && failed.failure === "declined")
        assert.deepStrictEqual((yield* detailOf(store, "e1")).attempts, [])
        assert.isTrue(Option.isNone(yield* store.get("e2")))

        assert.strictEqual(yield* transaction(Effect.as(writes, "committed")), "committed")
        assert.deepStrictEqual((yield* detailOf(store, "e1")).attempts, [attempt("charge", 1)])
        assert.strictEqual((yield* getOf(store, "e2")).status, "running")
      }))

    testOptional("notifications (where the store has them) announce a new execution, an interrupt request and a queue item", "notifications", (store, notifications) =>
      Effect.gen(function* () {
        const listener = yield* listen(store, notifications)
        yield* store.create(newExecution("e1", { workflow: "Ship" }))
        assert.isTrue(yield* store.requestInterrupt("e1", T0 + 1))
        yield* store.enqueue(queueItem("thumbnails", "cat.png", { url: "cat.png" }))
        yield* listener.hears(["wake:e1", "interrupt:e1", "queue:thumbnails"])
        // The workflow is optional ("when known"), but never another one.
        for (const { id, workflow } of listener.seen) {
          if (id === "e1" && workflow !== undefined) assert.strictEqual(workflow, "Ship")
        }
        yield* listener.stop
      }))

    testOptional("notifications (where the store has them) announce every write of a schedule, with its workflow: insert, update, pause, resume, removal", "notifications", (store, notifications) =>
      Effect.gen(function* () {
        const schedules = store.schedules
        if (schedules === undefined) return
        const listener = yield* listen(store, notifications)
        const write: WorkflowStore.ScheduleWrite = {
          scheduleId: "nightly:report",
          workflow: "Report",
          payload: {},
          spec: { everyMs: 1_000, anchor: T0, overlap: "skip", catchUp: "latest", jitterMs: 0 },
          paused: false,
          nextFireAt: T0 + 1_000,
          dueAt: T0 + 1_000,
          lastFireAt: undefined,
          lastExecutionId: undefined,
          bufferedAt: undefined,
          updatedAt: T0
        }
        const inserted = yield* schedules.put(write, undefined)
        assert.isTrue(Option.isSome(inserted))
        assert.isTrue(Option.isSome(yield* schedules.put({ ...write, updatedAt: T0 + 1 }, 1)))
        assert.isTrue(Option.isSome(yield* schedules.setPaused(write.scheduleId, true, T0 + 2)))
        assert.isTrue(Option.isSome(yield* schedules.setPaused(write.scheduleId, false, T0 + 3)))
        assert.isTrue(yield* schedules.remove(write.scheduleId))
        // A write that writes nothing (a stale revision, an unknown id) need not announce; these five did.
        const announced = () => listener.seen.filter((n) => n.kind === "schedule")
        yield* waitUntil(Effect.sync(() => announced().length >= 5), "five schedule notices")
        for (const notice of announced()) {
          // The notice is `schedule:<id>:<workflow>`; an id may hold ":", so read the two together.
          assert.strictEqual(`${notice.id}:${notice.workflow}`, "nightly:report:Report")
        }
        yield* listener.stop
      }))

    testOptional("notifications (where the store has them) announce the end of an execution that a process awaits: submitted, joined or suspended awaited", "notifications", (store, notifications) =>
      Effect.gen(function* () {
        const listener = yield* listen(store, notifications)
        const finish = (executionId: string, fence: number) =>
          store.complete(executionId, fence, { status: "succeeded", result: success(executionId), at: T0 + 10 })
        // Submitted by a process that waits for the result, and run by another.
        yield* store.create(newExecution("submitted", { awaited: true }))
        yield* finish("submitted", (yield* claimOf(store, "submitted", OWNER_B, T0 + 1)).fence)
        // Created by the owner that runs it, then joined by a process that waits.
        const joined = yield* store.create(newExecution("joined", { claimFor: OWNER_A, announce: false }))
        const join = yield* store.create(newExecution("joined", { awaited: true }))
        assert.isFalse(join.created)
        yield* finish("joined", joined.fence!)
        // Suspended by a run whose process waits for the result; woken by a signal and finished elsewhere.
        const parked = yield* store.create(newExecution("parked", { claimFor: OWNER_A, announce: false }))
        assert.isTrue(yield* store.suspend("parked", parked.fence!, parked.record.wakeSeq, undefined, T0 + 1, true))
        yield* store.completeDeferred("parked", { name: "approval", exit: success(true), completedAt: T0 + 2 })
        yield* finish("parked", (yield* claimOf(store, "parked", OWNER_B, T0 + 3)).fence)

        yield* listener.hears(["done:submitted", "done:joined", "done:parked"])
        for (const id of ["submitted", "joined", "parked"]) {
          const record = yield* getOf(store, id)
          assert.strictEqual(record.status, "succeeded", id)
          assert.deepStrictEqual(record.result, success(id), id)
        }
        yield* listener.stop
      }))
  })
}

/**
 * Listens to `notifications` until `stop`. A store may start listening only once the stream runs, missing what
 * came before: this probes with new executions until a first notice arrives.
 */
const listen = (store: Store, notifications: Stream.Stream<WorkflowStore.Notification>) =>
  Effect.gen(function* () {
    const seen: Array<WorkflowStore.Notification> = []
    const listening = yield* Effect.forkChild(
      Stream.runForEach(notifications, (notification) => Effect.sync(() => void seen.push(notification)))
    )
    let probes = 0
    yield* waitUntil(
      Effect.gen(function* () {
        if (seen.length > 0) return true
        if (probes++ % 64 === 0) yield* store.create(newExecution(`probe-${probes}`))
        return false
      }),
      "the first notification"
    )
    const heard = () => seen.map((n) => `${n.kind}:${n.id}`)
    return {
      seen,
      /** Waits until every one of `notices` ("kind:id") has arrived. */
      hears: (notices: ReadonlyArray<string>) =>
        waitUntil(Effect.sync(() => notices.every((notice) => heard().includes(notice))), notices.join(", ")),
      stop: Fiber.interrupt(listening)
    }
  })
