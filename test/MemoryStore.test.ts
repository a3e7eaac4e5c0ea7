/**
 * The memory store against the store conformance suite: the reference every other store is measured by.
 */
import { MemoryStore } from "@weft/workflow"
import { storeConformance } from "./conformance/StoreConformance.js"

storeConformance("MemoryStore", ({ leaseMs }) => MemoryStore.layer({ leaseMs }))
