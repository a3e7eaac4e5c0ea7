/**
 * `Ledger`, a workflow in two versions for the tests of versions over the CLI and the proxy: each waits for `Go`,
 * then names the version that ran it.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { DurableDeferred, Workflow } from "@weft/workflow"

/** The signal every `Ledger` execution waits for. */
export const Go = DurableDeferred.make("go")

const definition = { name: "Ledger", payload: { id: Schema.String }, success: Schema.String } as const

export const LedgerV1 = Workflow.make({ ...definition, idempotencyKey: ({ id }) => id })
export const LedgerV2 = Workflow.make({ ...definition, version: 2, idempotencyKey: ({ id }) => id })

/** Version `tag`'s body: waits for `Go`, then answers `<tag>:<id>`. */
export const ledger = (tag: string) => ({ id }: { readonly id: string }) => Effect.as(DurableDeferred.await(Go), `${tag}:${id}`)

/** Both versions' bodies. */
export const LedgerLive = Layer.mergeAll(LedgerV1.toLayer(ledger("v1")), LedgerV2.toLayer(ledger("v2")))
