/**
 * @weft/workflow: durable workflows as Effect values, on one replay runtime over any store.
 */
export * as Activity from "./Activity.js"
export * as DurableClock from "./DurableClock.js"
export * as DurableDeferred from "./DurableDeferred.js"
export * as DurableQueue from "./DurableQueue.js"
export * as MemoryStore from "./MemoryStore.js"
export * as StoreRules from "./StoreRules.js"
export * as TestHooks from "./TestHooks.js"
export * as Workflow from "./Workflow.js"
export * as WorkflowEngine from "./WorkflowEngine.js"
export * as WorkflowError from "./WorkflowError.js"
export * as WorkflowMetrics from "./WorkflowMetrics.js"
export * as WorkflowReplayer from "./WorkflowReplayer.js"
export * as WorkflowShape from "./WorkflowShape.js"
export * as WorkflowStore from "./WorkflowStore.js"
export * as WorkflowTrace from "./WorkflowTrace.js"
