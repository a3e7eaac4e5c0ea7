/**
 * The PostgreSQL driver's service: its tag and what it offers, kept apart from `pg` so the store can look for a
 * driver without loading `pg`. The driver itself (pools, LISTEN) is `PgDriver.ts`, in `@weft/engine-sql/pg`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as SqlError from "effect/sql/SqlError"
import type * as Stream from "effect/Stream"

/** A statement the driver prepares once per connection: its name must be unique to its text. */
export interface Prepared {
  readonly name: string
  readonly text: string
}

/** The driver's service. */
export interface Service {
  /** Runs a prepared statement on a pooled connection; its rows. Not interruptible: a statement sent is awaited. */
  readonly query: (statement: Prepared, values: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<any>, SqlError.SqlError>
  /** Runs a statement unprepared on the same pool, under the same timeout: the engine's cold statements. */
  readonly queryText: (text: string, values: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<any>, SqlError.SqlError>
  /**
   * Runs a prepared statement on a connection of its own, so it never queues behind the pool (a worker's
   * heartbeat must not wait for the writes of the runs it keeps alive).
   */
  readonly queryOwn: (statement: Prepared, values: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<any>, SqlError.SqlError>
  /** LISTEN on `channel`; the stream fails when its connection is lost, so the caller can listen again. */
  readonly listen: (channel: string) => Stream.Stream<string, SqlError.SqlError>
}

/** The PostgreSQL driver, present when the engine was built by `PgEngine.layer` (or with `PgDriver.layer`). */
export class PgDriver extends Context.Service<PgDriver, Service>()("@weft/engine-sql/PgDriver") {}
