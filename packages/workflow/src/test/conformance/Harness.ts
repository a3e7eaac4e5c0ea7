/**
 * The conformance suite's harness: how a test gets a fresh store, how an optional member's test is skipped,
 * and the fixtures and reads every part of the suite shares. Fixed epoch times: a store never reads a clock.
 */
import { assert, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type { TestContext } from "vitest"
import type * as WorkflowError from "../../WorkflowError.js"
import * as WorkflowStore from "../../WorkflowStore.js"
import type { MakeLayer } from "../StoreConformance.js"

/** The store under test. */
export type Store = WorkflowStore.Service

/** The members of the contract a store may lack. */
export type OptionalMember =
  | "ended"
  | "liveChildren"
  | "transaction"
  | "notifications"
  | "watch"
  | "purge"
  | "retry"
  | "fork"
  | "backlog"
  | "schedules"
  | "sendMessage"
  | "versions"

/** How each part of the suite registers its tests against the store under test. */
export interface Suite {
  /** A test of the store's required members, on a fresh store. */
  readonly test: (title: string, body: (store: Store) => Effect.Effect<void, unknown>) => void
  /** A test of an optional member: reported skipped, never passed, where the store lacks it. */
  readonly testOptional: <K extends OptionalMember>(
    title: string,
    member: K,
    body: (store: Store, value: NonNullable<Store[K]>) => Effect.Effect<void, unknown>
  ) => void
}

/** The test registrars for the store named `name` that `makeLayer` builds. */
export const makeSuite = (name: string, makeLayer: MakeLayer): Suite => ({
  test: (title, body) =>
    it.effect(title, () =>
      Effect.flatMap(WorkflowStore.WorkflowStore, body).pipe(Effect.provide(makeLayer({ leaseMs: LEASE_MS })))
    ),
  testOptional: (title, member, body) =>
    it.effect(title, (ctx) =>
      Effect.flatMap(WorkflowStore.WorkflowStore, (store) => {
        const value = store[member]
        return value === undefined
          ? skip(ctx, `${name} has no ${member}`)
          : body(store, value as NonNullable<Store[typeof member]>)
      }).pipe(Effect.provide(makeLayer({ leaseMs: LEASE_MS }))))
})

/**
 * Marks the running test skipped: vitest reports it so whatever the test then does. `ctx.skip` also throws
 * to stop the test; here the Effect ends instead, since a throw inside it would be logged as a defect.
 */
const skip = (ctx: TestContext, note: string) =>
  Effect.sync(() => {
    try {
      ctx.skip(note)
    } catch (error) {
      if ((error as { readonly code?: unknown } | null)?.code !== "VITEST_PENDING") throw error
    }
  })

/**
 * Re-checks `check` between scheduler turns and I/O turns until it holds. Not a sleep: it gives up only when
 * the state has not come after 30 seconds of wall time, to fail instead of hang.
 */
export const waitUntil = <E, R>(
  check: Effect.Effect<boolean, E, R>,
  label: string
): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function* () {
    const deadline = performance.now() + 30_000
    for (let i = 0; performance.now() < deadline; i++) {
      if (yield* check) return
      if (i % 8 === 7) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      else yield* Effect.yieldNow
    }
    return yield* Effect.fail(new Error(`state never reached: ${label}`))
  })

/** The lease the suite asks every store for. */
export const LEASE_MS = 1_000
/** A fixed epoch: the store never reads a clock, so every time is this plus an offset. */
export const T0 = 1_700_000_000_000
/** The first worker that claims in a test. */
export const OWNER_A = "worker-a"
/** A second worker, that takes over or is refused. */
export const OWNER_B = "worker-b"
/** A third worker, to show that a claim still holds (or no longer does). */
export const OWNER_C = "worker-c"
/** The workflows a test's executions belong to unless it says otherwise. */
export const WORKFLOWS: ReadonlyArray<string> = ["Order", "Ship"]
/** The statuses an execution ends in. */
export const TERMINAL_STATUSES = ["succeeded", "failed", "interrupted"] as const
/** One of the statuses an execution ends in. */
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number]

/** Text that every stored string must keep intact: accents, scripts, emoji, quotes, backslashes, control characters. */
export const TEXT = 'naïve café — 日本語 — ключ — 🎉👩‍💻 — "quoted" \\ back\\slash\nnew line\ttab'

/** An encoded successful Exit. */
export const success = (value: unknown) => ({ _tag: "Success", value })
/** An encoded failed Exit. */
export const failExit = (error: unknown) => ({ _tag: "Failure", cause: { _tag: "Fail", error } })

/** The result stored with each terminal status. */
export const EXIT_OF: Record<TerminalStatus, WorkflowStore.EncodedExit> = {
  succeeded: success({ shipped: true }),
  failed: { _tag: "Failure", cause: { _tag: "Die", defect: { name: "Error", message: "boom" } } },
  interrupted: { _tag: "Failure", cause: { _tag: "Interrupt", fiberId: { _tag: "None" } } }
}

/** The event each terminal status logs. */
export const EVENT_OF: Record<TerminalStatus, WorkflowStore.EventKind> = {
  succeeded: "completed",
  failed: "failed",
  interrupted: "interrupted"
}

/** A JSON-like value exercising every JSON type, built fresh on every call. */
export const sample = () => ({
  text: TEXT,
  empty: "",
  integer: 42,
  negative: -7,
  fraction: 0.1 + 0.2,
  tiny: 1e-7,
  big: Number.MAX_SAFE_INTEGER,
  zero: 0,
  yes: true,
  no: false,
  nothing: null,
  list: [1, "two", null, [3], { four: 4 }],
  emptyList: [],
  emptyObject: {},
  nested: { deeper: { deepest: ["x", { "key with spaces/and:colons": "ü" }] } }
})

/** A new execution of "Order" created at T0, with `overrides`. */
export const newExecution = (
  executionId: string,
  overrides: Partial<Omit<WorkflowStore.NewExecution, "executionId">> = {}
): WorkflowStore.NewExecution => ({
  executionId,
  workflow: "Order",
  payload: { executionId },
  parent: undefined,
  at: T0,
  ...overrides
})

/** Attempt `n` of activity `name`, succeeded with `value`. */
export const attempt = (name: string, n: number, value: unknown = `${name}#${n}`): WorkflowStore.ActivityAttempt => ({
  name,
  attempt: n,
  exit: success(value),
  startedAt: T0 + n,
  completedAt: T0 + n + 5
})

/** An item of `queue`, enqueued at T0. */
export const queueItem = (queue: string, itemId: string, payload: unknown): WorkflowStore.QueueItem => ({
  queue,
  itemId,
  payload,
  token: `token-for-${itemId}`,
  enqueuedAt: T0
})

/** 32 bytes that differ with `seed`. */
export const bytes = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i) % 256)

/** The value of `option`; the test fails if it is none. */
export const expectSome = <A>(option: Option.Option<A>, what: string): A =>
  Option.isSome(option) ? option.value : assert.fail(`expected ${what}, got none`)

/** The error an effect fails with; the test fails if it succeeds. */
export const failure = <A>(effect: Effect.Effect<A, WorkflowError.WorkflowError>) =>
  Effect.map(Effect.result(effect), (result) =>
    Result.isFailure(result) ? result.failure : assert.fail(`expected a failure, got ${JSON.stringify(result.success)}`)
  )

/** The stored record of an execution that must exist. */
export const getOf = (store: Store, executionId: string) =>
  Effect.map(store.get(executionId), (record) => expectSome(record, `execution ${executionId}`))

/** The detail of an execution that must exist. */
export const detailOf = (store: Store, executionId: string) =>
  Effect.map(store.detail(executionId), (detail) => expectSome(detail, `the detail of ${executionId}`))

/** A claim that must succeed. */
export const claimOf = (store: Store, executionId: string, owner: string, now: number, versions?: WorkflowStore.Versions) =>
  Effect.map(store.claim(executionId, owner, now, versions), (claim) =>
    expectSome(claim, `a claim of ${executionId} by ${owner}`)
  )

/** Creates, claims and suspends an execution (waking at `wakeAt`, if set). */
export const createSuspended = (
  store: Store,
  executionId: string,
  wakeAt: number | undefined,
  at = T0,
  workflow = "Order",
  version = 1
) =>
  Effect.gen(function* () {
    yield* store.create(newExecution(executionId, { at, workflow, version }))
    const claim = yield* claimOf(store, executionId, "setup", at)
    assert.isTrue(yield* store.suspend(executionId, claim.fence, claim.journal.execution.wakeSeq, wakeAt, at))
  })

/** Creates, claims and completes an execution with `status`. */
export const createTerminal = (
  store: Store,
  executionId: string,
  status: TerminalStatus,
  at = T0,
  workflow = "Order",
  version = 1
) =>
  Effect.gen(function* () {
    yield* store.create(newExecution(executionId, { at, workflow, version }))
    const claim = yield* claimOf(store, executionId, "setup", at)
    yield* store.complete(executionId, claim.fence, { status, result: EXIT_OF[status], at })
  })

/**
 * The ids `runnable` returns for `workflows` (default: every workflow the suite uses), sorted; each must
 * come with its execution's workflow.
 */
export const runnableIds = (
  store: Store,
  now: number,
  limit: number,
  workflows: ReadonlyArray<string> = WORKFLOWS
) =>
  Effect.gen(function* () {
    const ready = yield* store.runnable(now, limit, workflows)
    for (const { executionId, workflow } of ready) {
      assert.strictEqual(workflow, (yield* getOf(store, executionId)).workflow, executionId)
    }
    return sorted(ready.map((r) => r.executionId))
  })

/** A deep copy, so an assertion on "unchanged" cannot pass because store and test share one mutable value. */
export const snapshot = <A>(value: A): A => structuredClone(value)

/** Orders strings by code unit, the same everywhere (no locale). */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Ids in a fixed order, to compare what the contract returns as a set. */
export const sorted = (ids: ReadonlyArray<string>) => [...ids].sort(compare)

/** Rows ordered by name, to compare what the contract returns as a set. */
export const sortByName = <A extends { readonly name: string }>(rows: ReadonlyArray<A>) =>
  [...rows].sort((a, b) => compare(a.name, b.name))

/** Attempts ordered by name and number, to compare what the contract returns as a set. */
export const sortAttempts = (rows: ReadonlyArray<WorkflowStore.ActivityAttempt>) =>
  [...rows].sort((a, b) => compare(a.name, b.name) || a.attempt - b.attempt)
