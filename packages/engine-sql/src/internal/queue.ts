/**
 * The store's side of `DurableQueue`: items enqueued once by key, claimed in order with a lease by one
 * worker at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL), renewed while handled, deleted by their owner when done.
 */
import * as Effect from "effect/Effect"
import type { WorkflowStore } from "@weft/workflow"
import * as Column from "./columns.js"
import type { Database } from "./database.js"
import { notify } from "./notifications.js"
import * as Rows from "./rows.js"

/** The queue's part of the store. */
export type Queue = Pick<WorkflowStore.Service, "enqueue" | "claimQueueItems" | "renewQueueItem" | "ackQueueItem">

/** The queue's statements over `db`. */
export const make = (db: Database): Queue => {
  const { isPg, leaseMs, rows, sql } = db
  return {
    enqueue: (item) =>
      Effect.andThen(
        rows(sql`INSERT INTO weft_queue (queue, item_id, payload, token, enqueued_at)
          VALUES (${item.queue}, ${item.itemId}, ${Column.payloadText(item.payload)}, ${item.token}, ${item.enqueuedAt})
          ON CONFLICT DO NOTHING`),
        notify(db, "queue", item.queue)
      ),

    claimQueueItems: (queue, owner, limit, now) =>
      Effect.flatMap(
        rows(
          isPg
            ? sql`UPDATE weft_queue SET owner = ${owner}, lease_until = ${now + leaseMs}
              WHERE (queue, item_id) IN (
                SELECT queue, item_id FROM weft_queue WHERE queue = ${queue} AND (owner IS NULL OR lease_until <= ${now})
                ORDER BY enqueued_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
              RETURNING *`
            : sql`UPDATE weft_queue SET owner = ${owner}, lease_until = ${now + leaseMs}
              WHERE rowid IN (
                SELECT rowid FROM weft_queue WHERE queue = ${queue} AND (owner IS NULL OR lease_until <= ${now})
                ORDER BY enqueued_at LIMIT ${limit})
              RETURNING *`
        ),
        (r) => Rows.all(r, Rows.queueItem)
      ),

    renewQueueItem: (queue, itemId, owner, now) =>
      Effect.map(
        rows(sql`UPDATE weft_queue SET lease_until = ${now + leaseMs}
          WHERE queue = ${queue} AND item_id = ${itemId} AND owner = ${owner} RETURNING item_id`),
        (r) => r.length > 0
      ),

    // Only its owner's: a worker whose lease ran out and whose item another worker took removes nothing.
    ackQueueItem: (queue, itemId, owner) =>
      Effect.map(
        rows(sql`DELETE FROM weft_queue WHERE queue = ${queue} AND item_id = ${itemId} AND owner = ${owner}
          RETURNING item_id`),
        (r) => r.length > 0
      )
  }
}
