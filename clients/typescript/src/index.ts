export * from "./frames.js";
export { RoomStore, type Change, type Gap, type RoomState } from "./store.js";
export {
  ParleyClient,
  Disconnected,
  ProtocolError,
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type ConnectOptions,
  type WebSocketConstructor,
} from "./client.js";
