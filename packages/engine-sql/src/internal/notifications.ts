/**
 * Wake-ups between processes on PostgreSQL: `kind:id:workflow` texts on one NOTIFY channel, sent by the
 * store's statements (and `notify`) and read back, by the driver's LISTEN connection, as `Notification`s. The
 * schedules' writes announce `schedule:<schedule id>:<workflow>` (`schedules.ts`).
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { WorkflowStore } from "@weft/workflow"
import type * as PgDriver from "../PgDriver.js"
import type { Database } from "./database.js"

type Notification = WorkflowStore.Notification

/** The channel; the statements of `pgStatements` name it too. */
export const CHANNEL = "weft"

/** Announces `kind` of `id` on PostgreSQL; nothing elsewhere (other SQLite processes poll). */
export const notify = (db: Database, kind: Notification["kind"], id: string, workflow?: string) =>
  db.isPg ? db.rows(db.sql`SELECT pg_notify(${CHANNEL}, ${`${kind}:${id}:${workflow ?? ""}`})`) : Effect.void

/** What `driver` hears on the channel; listening again a second after its connection is lost. */
export const listen = (driver: PgDriver.Service): Stream.Stream<Notification> =>
  driver.listen(CHANNEL).pipe(
    Stream.map((payload): Notification => {
      const first = payload.indexOf(":")
      const second = payload.indexOf(":", first + 1)
      const workflow = payload.slice(second + 1)
      return {
        kind: payload.slice(0, first) as Notification["kind"],
        id: payload.slice(first + 1, second),
        workflow: workflow === "" ? undefined : workflow
      }
    }),
    Stream.retry(Schedule.spaced("1 second")),
    Stream.catch(() => Stream.empty)
  )
