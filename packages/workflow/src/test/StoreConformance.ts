/**
 * The store conformance suite: the tests that prove a `WorkflowStore` (memory, SQLite, PostgreSQL, or your
 * own DynamoDB or FoundationDB store) keeps the journal contract written in `WorkflowStore.ts`.
 *
 * A store author runs it from a vitest test file, with `vitest` and `@effect/vitest` installed (optional peers
 * of `@weft/workflow`; the main entry never loads this module), giving a function that builds a fresh store:
 *
 * ```ts
 * // test/MemoryStore.test.ts, run with `npx vitest run test/MemoryStore.test.ts`
 * import { MemoryStore } from "@weft/workflow"
 * import { storeConformance } from "@weft/workflow/test/StoreConformance"
 *
 * storeConformance("MemoryStore", ({ leaseMs }) => MemoryStore.layer({ leaseMs }))
 * ```
 *
 * A custom store does the same with its own layer, on fresh storage per call (a DynamoDB store, say:
 * `storeConformance("DynamoStore", ({ leaseMs }) => DynamoStore.layer({ leaseMs, table: freshTable() }))`).
 *
 * Every test appears under "<name> keeps the WorkflowStore contract", grouped by part of the contract.
 *
 * - A fresh, empty store per test. Every test provides a layer built anew by `makeLayer`, and the store it
 *   yields must hold nothing: `runnable`, `nextWakeAt`, `list` and queue claims are global queries, so unique
 *   execution ids alone would not keep tests apart. SQLite: a `:memory:` database per layer. PostgreSQL: one
 *   server for the run and a fresh schema (or database) per layer, dropped when the layer's scope closes.
 * - Leases: the suite asks for the lease length through `makeLayer({ leaseMs })`, and the store must use it
 *   for execution claims and queue-item claims alike. It probes one millisecond either side of expiry, never
 *   the exact boundary, which the contract leaves open.
 * - Time: a store never reads a clock; every `now` and `at` is passed in, so the tests use fixed epoch
 *   milliseconds, not `TestClock`.
 * - Order: the contract fixes the order of `list` (newest first) and of the event log (append order) only;
 *   journal rows, `runnable` ids and queue items are compared as sets.
 * - Optional members (`ended`, `liveChildren`, `transaction`, `notifications`, `watch`, `purge`, `retry`, `fork`,
 *   `sendMessage`): a store that lacks one reports its tests as skipped, never as passed.
 */
import { describe } from "@effect/vitest"
import type * as Layer from "effect/Layer"
import type * as WorkflowStore from "../WorkflowStore.js"
import { channels } from "./conformance/Channels.js"
import { claims } from "./conformance/Claims.js"
import { encoding } from "./conformance/Encoding.js"
import { executions } from "./conformance/Executions.js"
import { makeSuite } from "./conformance/Harness.js"
import { inspection } from "./conformance/Inspection.js"
import { journal } from "./conformance/Journal.js"
import { lifecycle } from "./conformance/Lifecycle.js"
import { operator } from "./conformance/Operator.js"
import { optional } from "./conformance/Optional.js"
import { queues } from "./conformance/Queues.js"
import { recoveries } from "./conformance/Recoveries.js"
import { retention } from "./conformance/Retention.js"
import { rules } from "./conformance/Rules.js"
import { schedules } from "./conformance/Schedules.js"
import { scheduling } from "./conformance/Scheduling.js"
import { signals } from "./conformance/Signals.js"

/** What the suite asks of the store under test. */
export interface StoreOptions {
  /** How long a claim (of an execution or of a queue item) holds, in milliseconds. */
  readonly leaseMs: number
}

/** Builds a fresh, empty store with the given options; called once per test. */
export type MakeLayer = (options: StoreOptions) => Layer.Layer<WorkflowStore.WorkflowStore, unknown>

/** Registers the conformance tests of the store that `makeLayer` builds, under `describe(name)`. */
export const storeConformance = (name: string, makeLayer: MakeLayer): void => {
  const suite = makeSuite(name, makeLayer)
  describe(`${name} keeps the WorkflowStore contract`, () => {
    executions(suite)
    claims(suite)
    recoveries(suite)
    journal(suite)
    signals(suite)
    lifecycle(suite)
    rules(suite)
    inspection(suite)
    scheduling(suite)
    queues(suite)
    encoding(suite)
    optional(suite)
    retention(suite)
    operator(suite)
    channels(suite)
    schedules(suite)
  })
}
