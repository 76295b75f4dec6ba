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

/**
 * FMS's File: a path in the app's sandbox ("/" is the app folder; the operator's virtual
 * directories map other prefixes). A path with "\\", NUL, "." or ".." segments gives a File whose
 * name is "" and whose operations all fail. Operations FMS reports as a boolean return false on
 * failure (see docs/app-objects.md); a wrong argument type throws TypeError; a result past 16 MiB
 * throws RangeError. Writes stop at the app's quota.
 */
declare class File {
  constructor(path: string);
  /** The canonical path ("/dir/name.txt"), "" for a refused path. */
  readonly name: string;
  readonly exists: boolean;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isOpen: boolean;
  readonly canRead: boolean;
  readonly canWrite: boolean;
  readonly canAppend: boolean;
  readonly canReplace: boolean;
  /** "text", "utf8" or "binary" once opened. */
  readonly type: string | undefined;
  readonly mode: string | undefined;
  /** Bytes of a file, entries of a folder, 0 if absent. */
  readonly length: number;
  /** The read/write offset of an open file; assigning seeks (clamped to [0, length]). */
  position: number;
  readonly creationTime: Date | null;
  readonly lastModified: Date | null;
  /** type: "text" (default) | "utf8" | "binary"; mode: "read" (default) | "write" | "readWrite" | "append" | "create", comma-combined. */
  open(type?: string, mode?: string): boolean;
  close(): boolean;
  flush(): boolean;
  eof(): boolean;
  /** Moves by n bytes; the new position, -1 if not open. */
  seek(n: number): number;
  /** n characters (text, utf8) or bytes (binary). */
  read(n: number): string;
  /** The next line without its end (CR, LF or CRLF); null at the end. */
  readln(): string | null;
  readAll(): string[];
  readByte(): number;
  write(...values: any[]): boolean;
  writeln(...values: any[]): boolean;
  writeAll(lines: any[]): boolean;
  writeByte(n: number): boolean;
  list(filter?: (name: string) => boolean): File[];
  mkdir(name: string): boolean;
  remove(recursive?: boolean): boolean;
  renameTo(path: string): boolean;
  copyTo(path: string): boolean;
  toString(): string;
}

/** A node of an XML tree (Flash 5 XML): nodeType 1 (element) or 3 (text). */
declare class XMLNode {
  constructor(type: 1 | 3, value: string);
  readonly nodeType: number;
  /** An element's name as written, prefix included ("soap:Body"); null for text. */
  nodeName: string | null;
  /** A text node's text; null for an element. */
  nodeValue: string | null;
  attributes: { [name: string]: string };
  readonly childNodes: XMLNode[];
  readonly parentNode: XMLNode | null;
  readonly firstChild: XMLNode | null;
  readonly lastChild: XMLNode | null;
  readonly previousSibling: XMLNode | null;
  readonly nextSibling: XMLNode | null;
  readonly prefix: string | null;
  readonly localName: string | null;
  readonly namespaceURI: string | null;
  appendChild(child: XMLNode): void;
  insertBefore(child: XMLNode, before: XMLNode): void;
  removeNode(): void;
  cloneNode(deep: boolean): XMLNode;
  hasChildNodes(): boolean;
  getNamespaceForPrefix(prefix: string): string | null;
  getPrefixForNamespace(uri: string): string | null;
  toString(): string;
}

/** An XML document: parseXML fills it; load/sendAndLoad fetch one over HTTP (answers through onLoad). */
declare class XML extends XMLNode {
  constructor(source?: string);
  /** 0, or Flash's error code of the last parse: -2 CDATA, -3 XML declaration, -4 DOCTYPE, -5 comment not terminated, -6 malformed element, -7 too large, -8 attribute value not terminated, -9 start-tag without end-tag, -10 end-tag without start-tag. */
  status: number;
  xmlDecl: string | undefined;
  docTypeDecl: string | undefined;
  /** Drop white-space-only text nodes when parsing (set before parseXML/load; may be set on XML.prototype). */
  ignoreWhite: boolean;
  contentType: string;
  loaded: boolean | undefined;
  parseXML(source: string): void;
  createElement(name: string): XMLNode;
  createTextNode(text: string): XMLNode;
  load(url: string): boolean;
  send(url: string): boolean;
  sendAndLoad(url: string, target: XML): boolean;
  addRequestHeader(name: string | string[], value?: string): void;
  getBytesLoaded(): number;
  getBytesTotal(): number;
  onLoad(success: boolean): void;
  onData(source: string | undefined): void;
  onHTTPStatus(status: number): void;
}

/** Variables sent to and loaded from a URL as name=value&... (its methods are not enumerable). */
declare class LoadVars {
  constructor();
  contentType: string;
  loaded: boolean | undefined;
  load(url: string): boolean;
  send(url: string, target?: string, method?: "GET" | "POST"): boolean;
  sendAndLoad(url: string, target: LoadVars | object, method?: "GET" | "POST"): boolean;
  decode(query: string): void;
  toString(): string;
  addRequestHeader(name: string | string[], value?: string): void;
  getBytesLoaded(): number;
  getBytesTotal(): number;
  onLoad(success: boolean): void;
  onData(source: string | undefined): void;
  onHTTPStatus(status: number): void;
  [name: string]: any;
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
