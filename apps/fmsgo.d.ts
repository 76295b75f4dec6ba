// Type declarations for fmsgo's server-side JavaScript API (FMS Server-Side ActionScript plus a
// few extensions). Reference it from an app to get completion and checking in your editor:
//   /// <reference path="../fmsgo.d.ts" />
// The contract is docs/APP-API (shared/APP-API.md in the project); apps are plain scripts, not
// modules.

/** A status/info object as clients receive it (level, code, description, ...). */
interface InfoObject {
  level?: string;
  code?: string;
  description?: string;
  [key: string]: any;
}

/** An object with onResult/onStatus, the answer handlers of client.call. */
interface Responder {
  onResult?(value: any): void;
  onStatus?(info: InfoObject): void;
}

/** One connection, the same object in every callback. */
declare class Client {
  /** Unique id (scripts may overwrite it; the server never relies on it). */
  id: string;
  ip: string;
  /** The client's flashVer. */
  agent: string;
  /** The client's swfUrl. */
  referrer: string;
  pageUrl: string;
  protocol: string;
  uri: string;
  virtualKey: string;
  /** The ?query of the connect URL, without the "?" (ext). */
  query: string;
  /** null for a direct client, else the edge that carries it (ext). */
  edge: { id: string; address: string } | null;
  /** ";"-separated path prefixes the client may read / write (default "/"). */
  readAccess: string;
  writeAccess: string;
  /** Calls a method on the client; the responder gets its answer. */
  call(method: string, responder: Responder | null, ...args: any[]): boolean;
  ping(): boolean;
  getStats(): { bytes_in: number; bytes_out: number; msg_in: number; msg_out: number; ping_rtt: number };
  setBandwidthLimit(up: number, down: number): void;
  getBandwidthLimit(i: number): number;
  /** Called for a method name the client calls that does not exist; return a function. */
  __resolve?(name: string): ((...args: any[]) => any) | undefined;
  /** Methods that clients can call with NetConnection.call (return value → _result; a Promise
   * answers when it settles). */
  [method: string]: any;
}

/** A live stream as onPublish/onUnpublish/onPlay see it (the same object for both). */
declare class Stream {
  name: string;
  /** The ?query the publisher appended to the name, without the "?" (ext). */
  publishQueryString: string;
  /** In onPublish (ext): true when the name is held by a publisher silent for 3 s whose address
   * or queries differ from this one's; the publish then gets NetStream.Publish.BadName unless
   * onPublish sets acceptTakeover. (The same address, connect query and publish query, an
   * encoder reconnecting, takes over without asking.) */
  takeover?: boolean;
  /** Set to true in onPublish (ext) to let this publisher replace the silent one. */
  acceptTakeover?: boolean;
  /** Seconds since it started. */
  time: number;
  [key: string]: any;
  /** Server-side stream driving is not supported yet: throws. */
  static get(name: string): Stream;
}

/** A server-side view of a remote shared object. */
declare class SharedObject {
  /** get(name, true) also lets clients use that persistent object; clients get
   * SharedObject.BadPersistence for other persistent names unless app.json says
   * "persistentSharedObjects": true. */
  static get(name: string, persistent?: boolean): SharedObject;
  readonly name: string;
  readonly version: number;
  readonly isDirty: boolean;
  /** How many versions of history a returning client may be behind and still get only the
   *  differences (persistent objects); -1: unlimited. */
  resyncDepth: number;
  getProperty(name: string): any;
  /** null or undefined deletes the slot. */
  setProperty(name: string, value: any): void;
  getPropertyNames(): string[];
  size(): number;
  /** Changes made while locked (and sends) go out together at the last unlock. */
  lock(): number;
  unlock(): number;
  send(method: string, ...args: any[]): boolean;
  clear(): boolean;
  flush(): boolean;
  /** Drops the deleted-slot history older than version (clients further behind get the full state). */
  purge(version: number): boolean;
  close(): void;
  /** Called after clients changed slots: one item per slot with its net effect; refused client
   *  writes (no write access, over a limit) come as "reject". oldValue is undefined for a new slot. */
  onSync?(list: { name: string; code: "change" | "delete" | "reject" | "clear" | string; oldValue?: any }[]): void;
  /** Handlers that clients reach with so.send("NAME", ...). */
  [handler: string]: any;
}

interface Application {
  /** "APP/INSTANCE" */
  readonly name: string;
  /** Connected (accepted) clients; one live array. */
  readonly clients: Client[];
  readonly server: string;
  readonly hostname: string;
  /** The "config" object of app.json (ext). */
  readonly config: any;
  /** The origin's rpc plug-in modules (ext): application.plugins.NAME.method(...args) runs Go
   *  code off the app's loop and returns a Promise of its result (docs/plugins.md, rpc). */
  readonly plugins: { readonly [service: string]: { readonly [method: string]: (...args: any[]) => Promise<any> } };
  allowDebug: boolean;

  onAppStart?(info?: InfoObject): void;
  onAppStop?(info?: InfoObject): void;
  /** Return true/false, or call accept/rejectConnection now or later (pending). */
  onConnect?(client: Client, ...args: any[]): boolean | void;
  onConnectAccept?(client: Client, ...args: any[]): void;
  onConnectReject?(client: Client, ...args: any[]): void;
  onDisconnect?(client: Client): void;
  /** Returning false rejects the publish (ext). */
  onPublish?(client: Client, stream: Stream): boolean | void;
  onUnpublish?(client: Client, stream: Stream): void;
  /** Returning false rejects the play (ext). */
  onPlay?(client: Client, stream: Stream): boolean | void;
  onStatus?(info: InfoObject): void;
  /** Runs for each client after a hot reload (ext). */
  onReload?(client: Client): void;

  acceptConnection(client: Client): boolean;
  rejectConnection(client: Client, info?: any): boolean;
  redirectConnection(client: Client, url: string, description?: string, info?: any): boolean;
  disconnect(client: Client): boolean;
  broadcastMsg(method: string, ...args: any[]): void;
  shutdown(): void;
  getStats(): { total_connects: number; total_disconnects: number; bytes_in: number; bytes_out: number; msg_in: number; msg_out: number; [key: string]: number };
  registerClass(className: string, ctor: Function): void;
  [key: string]: any;
}

declare var application: Application;

declare function trace(...values: any[]): void;
declare function load(path: string): void;
declare function require(path: string): any;
declare function setTimeout(fn: ((...args: any[]) => void) | object, ms: number, ...args: any[]): number;
declare function setInterval(fn: ((...args: any[]) => void) | object, ms: number | string, ...args: any[]): number;
declare function clearTimeout(id: number | undefined): void;
declare function clearInterval(id: number | undefined): void;
declare var console: {
  log(...values: any[]): void;
  info(...values: any[]): void;
  warn(...values: any[]): void;
  error(...values: any[]): void;
};
