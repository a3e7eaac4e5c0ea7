/**
 * The workflow the many-worker test runs in worker processes: three activities, each of whose
 * bodies appends a row naming the worker and the fence of the claim it ran under.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import { Activity, Workflow } from "@weft/workflow"

/** Three activities, `a`, `b` and `c`; the result is `a<n>/b<n>/c<n>`. */
export const Batch = Workflow.make({
  name: "Batch",
  payload: { n: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ n }) => String(n)
})

/** The activities in the order the body asks for them. */
export const steps = ["a", "b", "c"] as const

/**
 * What the test records besides the engine's own tables, created after the engine's migrations:
 * every body run, and every claim (a fence change) with the lease it replaced, stamped with the
 * database's clock by a trigger, so takeovers are checked independently of the engine; and a NOTIFY
 * on channel `weft_test_done` for each completion.
 */
export const instrumentation = [
  `CREATE TABLE body_runs (
    id BIGSERIAL PRIMARY KEY, execution_id TEXT NOT NULL, activity TEXT NOT NULL, worker TEXT NOT NULL,
    fence BIGINT NOT NULL, at BIGINT NOT NULL)`,
  `CREATE TABLE claim_log (
    id BIGSERIAL PRIMARY KEY, execution_id TEXT NOT NULL, old_owner TEXT, old_fence BIGINT NOT NULL,
    old_lease_until BIGINT NOT NULL, owner TEXT, fence BIGINT NOT NULL, at BIGINT NOT NULL)`,
  `CREATE FUNCTION log_claim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.fence <> OLD.fence THEN
      INSERT INTO claim_log (execution_id, old_owner, old_fence, old_lease_until, owner, fence, at)
      VALUES (NEW.execution_id, OLD.owner, OLD.fence, OLD.lease_until, NEW.owner, NEW.fence,
        floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    END IF;
    RETURN NEW;
  END $$`,
  `CREATE TRIGGER log_claim AFTER UPDATE ON weft_executions FOR EACH ROW EXECUTE FUNCTION log_claim()`,
  // The engine announces a completion only to a process that waits on it; the test learns of each one here.
  `CREATE FUNCTION announce_done() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.status = 'succeeded' AND OLD.status <> 'succeeded' THEN
      PERFORM pg_notify('weft_test_done', NEW.execution_id);
    END IF;
    RETURN NEW;
  END $$`,
  `CREATE TRIGGER announce_done AFTER UPDATE ON weft_executions FOR EACH ROW EXECUTE FUNCTION announce_done()`
]

/** Registers `Batch` for worker `worker`; its bodies write through the engine's own `SqlClient`. */
export const layer = (worker: string) => {
  const activities = steps.map((name) =>
    Activity.make({
      name,
      success: Schema.String,
      execute: Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { executionId, fence } = yield* Workflow.WorkflowInstance
        const at = yield* Clock.currentTimeMillis
        // Uninterruptible (a run is interrupted when its claim is lost): @effect/sql-pg cancels an interrupted
        // statement by backend pid, which can hit whatever statement runs next on that connection.
        yield* Effect.uninterruptible(
          sql`INSERT INTO body_runs (execution_id, activity, worker, fence, at)
            VALUES (${executionId}, ${name}, ${worker}, ${fence}, ${at})`
        ).pipe(Effect.orDie)
        return name
      })
    })
  )
  return Batch.toLayer(({ n }) =>
    Effect.gen(function* () {
      const results: Array<string> = []
      for (const activity of activities) results.push(`${yield* activity}${n}`)
      return results.join("/")
    })
  )
}
