// The core entry of @sunpool/sdk. It runs in Node and in browsers: nothing here (or below it)
// imports a Node built-in; Node-only helpers are in "@sunpool/sdk/node". The export list is
// snapshotted by test/sdk/exports.test.ts so that changes to the public surface show in review.

export { createRpcProvider, createSunpoolClient, requireSigner } from "./client.js";
export type { AssetRegistry, CreateSunpoolClientParameters, SunpoolClient, SunpoolHub, SunpoolToken } from "./client.js";
export { parseDeployment } from "./deployment.js";
export type { Deployment } from "./deployment.js";

export { deposit, getBalance, withdraw } from "./actions/account.js";
export type { Balance, DepositParameters, GetBalanceParameters, WithdrawParameters } from "./actions/account.js";
export {
  DEFAULT_APP_RESOURCES,
  getApp,
  getDataset,
  getWorkerpool,
  listApps,
  listDatasets,
  parseImageDigest,
  PLATFORM_BITS,
  registerApp,
  registerDataset,
  registerWorkerpool,
} from "./actions/assets.js";
export type {
  App,
  AppResources,
  Dataset,
  Platform,
  RegisterAppParameters,
  RegisterDatasetParameters,
  RegisterWorkerpoolParameters,
  Workerpool,
} from "./actions/assets.js";
export { assertSameMarket, cancelOrder, publishOrder } from "./actions/market.js";
export type { CancelOrderParameters, PublishOrderParameters } from "./actions/market.js";
export { quoteRun, run, waitForRequest } from "./actions/run.js";
export type { Quote, RunParameters, RunProgress, RunResult, WaitForRequestParameters } from "./actions/run.js";
export { claimExpiredTasks, computeCommitment, computeTaskId, getDeal, getTask, TASK_OUTCOMES } from "./actions/tasks.js";
export type {
  Deal,
  EnergyReceipt,
  TaskConsensus,
  TaskLocator,
  TaskOutcomeName,
  TaskStatusName,
  TaskView,
} from "./actions/tasks.js";
export { getResult } from "./actions/results.js";
export type { GetResultParameters, VerifiedResult } from "./actions/results.js";

export {
  CATEGORY_SECONDS,
  createAppOrder,
  createDatasetOrder,
  createRequestOrder,
  createWorkerpoolOrder,
  MAX_TRUST,
  randomSalt,
} from "./orders/build.js";
export type {
  AppOrderParameters,
  DatasetOrderParameters,
  RequestOrderParameters,
  WorkerpoolOrderParameters,
} from "./orders/build.js";
export { encodeMatchOrders } from "./orders/codec.js";
export type { MatchOrders, MatchSignatures } from "./orders/codec.js";
export {
  DOMAIN_NAME,
  DOMAIN_VERSION,
  ORDER_FIELDS,
  ORDER_KINDS,
  ORDER_TYPE_NAMES,
  ORDER_TYPES,
  sunpoolDomain,
  typesFor,
} from "./orders/eip712.js";
export type {
  AnyOrder,
  AppOrder,
  DatasetOrder,
  FieldDefault,
  OrderField,
  OrderKind,
  OrderKindTypeName,
  OrderOfKind,
  OrderTypeName,
  RequestOrder,
  WorkerpoolOrder,
} from "./orders/eip712.js";
export { orderFromJson, orderToJson } from "./orders/json.js";
export { selectAppOrder, selectDatasetOrder, selectWorkerpoolOrder } from "./orders/match.js";
export type { Candidate, RequestIntent, Selection } from "./orders/match.js";
export { hashOrder, orderDigest, recoverOrderSigner, signOrder, signTaskAuthorization } from "./orders/sign.js";

export { assertSafeResultPath, resultDigest, resultManifest } from "./results/digest.js";
export type { ResultFile } from "./results/digest.js";
export {
  decryptResult,
  deriveResultKey,
  ENCRYPTED_RESULT_FILE,
  encryptResult,
  generateResultKeyPair,
  packFiles,
  unpackFiles,
} from "./results/encryption.js";
export type { ResultKeyPair } from "./results/encryption.js";
export { packFileChunks, unpackFileStream } from "./results/packing.js";
export { decodeTaskParams, encodeTaskParams, MAX_PARAMS_BYTES } from "./results/params.js";
export type { TaskParams } from "./results/params.js";
export type { ContentReader } from "./results/reader.js";

export { createSchedulerClient, getOrder, getSchedulerInfo, listOrders, postOrder, unpublishOrder } from "./scheduler/client.js";
export {
  recoverWorkerRequestSigner,
  signWorkerRequest,
  WORKER_AUTH_HEADERS,
  WORKER_REQUEST_MAX_SKEW_MS,
  workerRequestMessage,
} from "./scheduler/workerAuth.js";
export type { WorkerRequest, WorkerRequestScope } from "./scheduler/workerAuth.js";
export { recoverRequestSigner, REQUESTER_AUTH_HEADERS, signedRequestMessage, signRequest } from "./scheduler/signedRequests.js";
export type { RequestRole } from "./scheduler/signedRequests.js";
export { getPoolTask } from "./scheduler/tasks.js";
export type { GetPoolTaskParameters, PoolReplica, PoolReplicaState, PoolTask } from "./scheduler/tasks.js";
export {
  createWorkerApiClient,
  pinResult,
  pullAssignment,
  registerWorker,
  reportTask,
  sendHeartbeat,
} from "./scheduler/workers.js";
export type {
  Assignment,
  CreateWorkerApiClientParameters,
  Heartbeat,
  HeartbeatAck,
  PinReceipt,
  TaskReport,
  WorkerRecord,
  WorkerRegistration,
} from "./scheduler/workers.js";
export type {
  CreateSchedulerClientParameters,
  ListOrdersParameters,
  OrderRecord,
  PostOrderParameters,
  SchedulerClient,
  SchedulerInfo,
} from "./scheduler/client.js";

export { isSunpoolError, SunpoolError } from "./errors/base.js";
export type { SunpoolErrorCode, SunpoolErrorOptions } from "./errors/base.js";
export { formatSun, InsufficientBalanceError, InsufficientTokensError } from "./errors/account.js";
export { AppNotDeterministicError, AssetExistsError, AssetNotFoundError } from "./errors/assets.js";
export { ContractRevertError, RpcUnreachableError } from "./errors/chain.js";
export { ConfigError, InvalidInputError, KeystoreError, SetupError } from "./errors/input.js";
export { ChainMismatchError, NoMatchingOrderError, SchedulerRejectedError, SchedulerUnreachableError } from "./errors/market.js";
export { ResultMismatchError, ResultUnavailableError } from "./errors/results.js";
export { describeTaskFailure, RunTimeoutError, TaskFailedError } from "./errors/run.js";
export type { TaskFailure, TaskFailureOutcome } from "./errors/run.js";
export { decodeRevert } from "./chain.js";
