export * from "./frames.js";
export { excerptParts, type ExcerptPart } from "./search.js";
export { RoomStore, type Change, type Gap, type RoomState } from "./store.js";
export {
  Connection,
  Disconnected,
  ProtocolError,
  type ClientState,
  type ConnectOptions,
  type ConnectionEvents,
  type ConnectionHooks,
  type ConnectionOptions,
  type WebSocketConstructor,
} from "./connection.js";
export { ParleyClient, mentionsUser, type ClientEvents, type ClientOptions } from "./client.js";
