/**
 * The memory store against the store conformance suite: the reference every other store is measured by.
 */
import { MemoryStore } from "@weft/workflow"
import { storeConformance } from "@weft/workflow/test/StoreConformance"

storeConformance("MemoryStore", ({ leaseMs }) => MemoryStore.layer({ leaseMs }))
