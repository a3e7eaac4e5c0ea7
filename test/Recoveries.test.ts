/**
 * Takeovers on PostgreSQL when a claim waits for another transaction on the execution's row: the claim logs
 * `taken-over` from the owner whose lease it found lapsed, once, and nothing when the row it finally claims (or
 * fails to) says otherwise. The conformance suite (`conformance/Recoveries.ts`) covers every store without races.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { StoreRules, type WorkflowError, WorkflowStore } from "@weft/workflow"
import * as Pg from "../packages/engine-sql/src/internal/pgStatements.js"
import { testDatabase } from "./pg.js"
import { type PgClientKind, pgStoreOver, whileHeld } from "./pgRace.js"

const T = 1_700_000_000_000
const LEASE = 1_000

/**
 * On a fresh database (per client kind) with `worker-a` holding e1's claim since T (a lease to T + LEASE, by the
 * caller's clock): another connection runs `statement` on e1 uncommitted, `racer` starts and waits on the row's
 * lock, then the other connection commits; `then` gets `racer`'s result.
 */
const meetingAt = <A>(
  client: PgClientKind,
  statement: (fence: number) => { readonly text: string; readonly params: Array<unknown> },
  racer: (store: WorkflowStore.Service) => Effect.Effect<A, WorkflowError.WorkflowError>,
  then: (store: WorkflowStore.Service, result: A) => Effect.Effect<void, WorkflowError.WorkflowError>
) =>
  Effect.gen(function* () {
    const url = yield* testDatabase()
    const layer = pgStoreOver(url, client, { leaseMs: LEASE, leaseClock: "caller" })
    yield* Effect.gen(function* () {
      const store = yield* WorkflowStore.WorkflowStore
      yield* store.create({ executionId: "e1", workflow: "Order", payload: {}, parent: undefined, at: T, announce: false })
      const { fence } = Option.getOrThrow(yield* store.claim("e1", "worker-a", T))
      const raced = yield* whileHeld(url, statement(fence), racer(store), "the claim waits on the execution's row")
      yield* then(store, raced)
    }).pipe(Effect.provide(layer))
  })

const takeoversOf = (store: WorkflowStore.Service) =>
  Effect.map(store.detail("e1"), (detail) =>
    Option.getOrThrow(detail).events.flatMap((e) =>
      e.kind === StoreRules.takeoverKind ? [{ at: e.at, ...StoreRules.takeoverOf(e.detail) }] : []
    )
  )

describe("takeovers on PostgreSQL, when the claim waits for the row", () => {
  for (const client of ["PgDriver", "plain PgClient"] as const) {
    it.effect(`a takeover that waits for a signal's commit logs the lapsed owner once (${client})`, () =>
      meetingAt(
        client,
        () => ({
          text: Pg.completeDeferred.text,
          params: ["e1", "approval", JSON.stringify({ _tag: "Success", value: 1 }), T + 5]
        }),
        (store) => store.claim("e1", "worker-b", T + 2 * LEASE),
        (store, claimed) =>
          Effect.gen(function* () {
            assert.isTrue(Option.isSome(claimed))
            assert.deepStrictEqual(yield* takeoversOf(store), [
              { at: T + 2 * LEASE, from: "worker-a", to: "worker-b", leaseEndedAt: T + LEASE, inFlight: undefined }
            ])
          })
      ))

    it.effect(`a claim that finds the lapsed lease renewed once the heartbeat commits takes nothing and logs nothing (${client})`, () =>
      meetingAt(
        client,
        (fence) => ({
          text: Pg.renew.text,
          params: ["worker-a", ["e1"], [fence], T + 1_500, LEASE, [StoreRules.inFlightText([{ name: "charge", attempt: 1 }])]]
        }),
        (store) => store.claim("e1", "worker-b", T + 2 * LEASE),
        (store, claimed) =>
          Effect.gen(function* () {
            // The statement's snapshot still shows the lease lapsed; the row it must update does not.
            assert.isTrue(Option.isNone(claimed))
            assert.deepStrictEqual(yield* takeoversOf(store), [])
            // Once the renewed lease lapses too, the takeover names what the heartbeat kept.
            assert.isTrue(Option.isSome(yield* store.claim("e1", "worker-b", T + 1_500 + LEASE + 1)))
            assert.deepStrictEqual(yield* takeoversOf(store), [
              {
                at: T + 1_500 + LEASE + 1,
                from: "worker-a",
                to: "worker-b",
                leaseEndedAt: T + 1_500 + LEASE,
                inFlight: [{ name: "charge", attempt: 1 }]
              }
            ])
          })
      ))
  }
})
