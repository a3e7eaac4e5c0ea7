import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { MemoryStore, WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { engineSuite } from "./suites/engineSuite.js"

engineSuite("memory", (hooks, options) => WorkflowEngine.layerMemoryWith(options).pipe(Layer.provide(hooks ?? Layer.empty)))

describe("engine: timers it cannot fire", () => {
  it.scopedLive("does not spin on a due timer of a workflow this engine has not registered", () =>
    Effect.gen(function* () {
      const inner = MemoryStore.make()
      let lookups = 0
      const store: WorkflowStore.Service = {
        ...inner,
        nextWakeAt: (workflows) => Effect.suspend(() => (lookups++, inner.nextWakeAt(workflows)))
      }
      // A suspended execution of another service's workflow, whose timer is long due.
      yield* inner.create({ executionId: "x", workflow: "Elsewhere", payload: {}, parent: undefined, at: 0 })
      const claim = Option.getOrThrow(yield* inner.claim("x", "other", 0))
      yield* inner.suspend("x", claim.fence, 0, 1, 0)
      yield* Effect.provide(
        Effect.gen(function* () {
          // Let the event loop turn a few hundred times: a spinning timer loop would look up on each turn.
          for (let i = 0; i < 300; i++) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        }),
        WorkflowEngine.layer().pipe(Layer.provide(Layer.succeed(WorkflowStore.WorkflowStore, store)))
      )
      assert.isAtMost(lookups, 2)
    }))
})
