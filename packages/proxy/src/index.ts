/**
 * @weft/proxy: workflows as typed RPC (@effect/rpc) and HTTP (@effect/platform HttpApi) APIs.
 */
export * as WorkflowProxy from "./WorkflowProxy.js"
export * as WorkflowProxyServer from "./WorkflowProxyServer.js"
