/**
 * A care record (register family; DESIGN.md "Care records"). One instance per record, named by
 * `recordName()` in services/care.ts: `clinic:<id>:patient:<patientId>` for a patient's own record, and
 * `clinic:<id>:default` for the clinic's shared record of the seed demo (careRecordMode "shared"), which
 * also keeps the clinic's ledger of spent enrollment tokens. Called through typed RPC methods; `fetch`
 * only accepts the WebSocket upgrade of the live routes.
 *
 * Every write runs synchronously inside the object (no await between reading and writing, in one
 * `transactionSync`), so concurrent writers of different fields never lose each other's changes and
 * every change gets the next version: versions never repeat, a reset included. State, change history
 * and access log live in the object's SQLite storage; each new state is pushed to the connected sockets
 * (hibernation API: the object may sleep while sockets stay open), each socket seeing only the fields
 * its viewer may read.
 *
 * Care-team membership is decided by the worker (D1 `care_team_members`, read with the clinic in one
 * query). The object keeps the other half of a removal: `removeMember` closes the member's sockets and
 * refuses that user from then on, so that a request that passed the D1 check just before the removal
 * cannot read, write or open a socket after it; `admitMember` (adding the member again) lifts it.
 */
import { DurableObject } from "cloudflare:workers";
import { now } from "../lib/clock";
import type { Bindings } from "../types";

/** The four fields of a care record (columns of the object's `record` table). */
export const CARE_FIELDS = [
  "medical_history",
  "office_visit_notes",
  "prescription",
  "insurer_reply",
] as const;
export type CareField = (typeof CARE_FIELDS)[number];

export type CareState = Partial<Record<CareField, string>> & { version: number };
export type CarePatch = Partial<Record<CareField, string>>;

/** Who reads or changes the record (recorded in the history and, when `logged`, the access log). */
export interface Actor {
  userId: number;
  group: string;
  /** Someone other than the record's patient: the access goes to the record's access log. */
  logged?: boolean;
}

/** Who reads the record, and which fields they may see. */
export interface Viewer extends Actor {
  fields: readonly CareField[];
}

/** The `If-Match` condition: the versions the writer has seen, or "*" (any). */
export type VersionCondition = number[] | "*";

export type WriteResult =
  | { ok: true; state: CareState }
  | { ok: false; reason: "stale"; state: CareState }
  | { ok: false; reason: "removed" };

export type ReadResult = { ok: true; state: CareState } | { ok: false; reason: "removed" };

/** One entry of the access log (accounting of disclosures): who, when, read or write, which fields. */
export interface AccessEntry {
  id: number;
  action: "read" | "write" | "reset" | "live";
  fields: CareField[];
  userId: number;
  group: string;
  /** unix seconds */
  at: number;
}

export interface HistoryEntry {
  version: number;
  action: "update" | "reset";
  fields: CareField[];
  userId: number;
  group: string;
  /** unix seconds */
  at: number;
}

/** What a live socket remembers across hibernation: its viewer and when its token expires. */
export interface LiveViewer {
  userId: number;
  /** The fields this viewer may read (others are left out of the states it is sent). */
  fields: CareField[];
  /** Someone other than the record's patient (opening the socket is logged as a read). */
  logged?: boolean;
  /** the session whose token opened the socket (its end closes the socket) */
  sessionId: string;
  group: string;
  /** token expiry (unix s): the socket is closed at the first update after it */
  expiresAt: number;
}

/** Internal header by which the worker hands the (already authorized) viewer to `fetch`. */
export const VIEWER_HEADER = "x-care-viewer";
/** Internal header: the WebSocket subprotocol to answer with. */
export const PROTOCOL_HEADER = "x-care-protocol";

/** Close code sent when a socket's token expired. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Close code sent when a socket's session ended (sign-out, password change, a disabled user or clinic). */
export const CLOSE_SESSION_ENDED = 4003;

/** Close code sent when the viewer was removed from the record's care team. */
export const CLOSE_MEMBER_REMOVED = 4004;

/** Which live sockets to close: those of some sessions, of some users, or all of them. */
export type EndedSessions = { sessionIds: string[] } | { userId: number } | { all: true };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS record (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    medical_history TEXT,
    office_visit_notes TEXT,
    prescription TEXT,
    insurer_reply TEXT,
    updated_at INTEGER
  );
  INSERT INTO record (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;
  CREATE TABLE IF NOT EXISTS audit (
    version INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    fields TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    user_group TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    fields TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    user_group TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS removed_members (
    user_id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS spent_enrollments (
    token_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
`;

type RecordRow = Record<CareField, string | null> & { version: number };

interface AccessRow {
  id: number;
  action: AccessEntry["action"];
  fields: string;
  user_id: number;
  user_group: string;
  at: number;
  [key: string]: SqlStorageValue;
}

interface AuditRow {
  version: number;
  action: "update" | "reset";
  fields: string;
  user_id: number;
  user_group: string;
  at: number;
  [key: string]: SqlStorageValue;
}

/** The fields every trail entry has (who, which fields, when), from its row. */
function trail(r: { fields: string; user_id: number; user_group: string; at: number }) {
  return { fields: JSON.parse(r.fields) as CareField[], userId: r.user_id, group: r.user_group, at: r.at };
}

export class CareRecord extends DurableObject<Bindings> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(SCHEMA);
    // Keep-alives are answered without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** The current state: the fields ever set, and the version. */
  read(): CareState {
    const row = this.#sql
      .exec<RecordRow>(`SELECT version, ${CARE_FIELDS.join(", ")} FROM record WHERE id = 1`)
      .one();
    const state: CareState = { version: row.version };
    for (const field of CARE_FIELDS) {
      const value = row[field];
      if (value !== null) state[field] = value;
    }
    return state;
  }

  /**
   * The state as `viewer` may see it (only its fields, and the version). A logged viewer's read is in the
   * access log; a removed member is refused.
   */
  view(viewer: Viewer): ReadResult {
    return this.ctx.storage.transactionSync((): ReadResult => {
      if (this.#removed(viewer.userId)) return { ok: false, reason: "removed" };
      if (viewer.logged) this.#logAccess("read", [...viewer.fields], viewer);
      return { ok: true, state: only(this.read(), viewer.fields) };
    });
  }

  /** Sets the given fields (others are kept) when `condition` holds; the history entry is in the same transaction. */
  write(patch: CarePatch, actor: Actor, condition?: VersionCondition): WriteResult {
    const fields = CARE_FIELDS.filter((f) => typeof patch[f] === "string");
    if (fields.length === 0) throw new Error("CareRecord.write: no field to write");
    return this.#change("update", fields, actor, condition, () => fields.map((f) => patch[f] as string));
  }

  /** Clears every field (the demo client's reset). The version moves on; it never starts again. */
  reset(actor: Actor, condition?: VersionCondition): WriteResult {
    return this.#change("reset", [...CARE_FIELDS], actor, condition, () => CARE_FIELDS.map(() => null));
  }

  /** The access log, newest first: at most `limit` entries with an id below `before`. */
  accessLog(limit: number, before?: number): { entries: AccessEntry[]; nextBefore: number | null } {
    const page = this.#page<AccessRow>("id, action", "access_log", "id", limit, before);
    return {
      entries: page.rows.map((r) => ({ id: r.id, action: r.action, ...trail(r) })),
      nextBefore: page.more ? (page.rows.at(-1)?.id ?? null) : null,
    };
  }

  /** A member left the care team: their sockets close (4004) and the object refuses them from now on. */
  removeMember(userId: number): number {
    this.#sql.exec(
      "INSERT INTO removed_members (user_id, at) VALUES (?, ?) ON CONFLICT DO UPDATE SET at = excluded.at",
      userId,
      now(),
    );
    const sockets = this.ctx.getWebSockets(`u:${userId}`);
    for (const ws of sockets) {
      try {
        ws.close(CLOSE_MEMBER_REMOVED, "removed from the care team");
      } catch {
        // Already closing.
      }
    }
    return sockets.length;
  }

  /** A user (re)joined the care team: a refusal left by an earlier removal is lifted. */
  admitMember(userId: number): void {
    this.#sql.exec("DELETE FROM removed_members WHERE user_id = ?", userId);
  }

  /** The audit trail, newest first: at most `limit` entries with a version below `before`. */
  history(limit: number, before?: number): { entries: HistoryEntry[]; nextBefore: number | null } {
    const page = this.#page<AuditRow>("version, action", "audit", "version", limit, before);
    return {
      entries: page.rows.map((r) => ({ version: r.version, action: r.action, ...trail(r) })),
      nextBefore: page.more ? (page.rows.at(-1)?.version ?? null) : null,
    };
  }

  /** One page, newest first, of a trail table (history or access log) keyed by `key`, below `before`. */
  #page<T extends Record<string, SqlStorageValue>>(
    columns: string,
    table: "audit" | "access_log",
    key: "version" | "id",
    limit: number,
    before?: number,
  ): { rows: T[]; more: boolean } {
    const rows = this.#sql
      .exec<T>(
        `SELECT ${columns}, fields, user_id, user_group, at FROM ${table} WHERE ${key} < ? ORDER BY ${key} DESC LIMIT ?`,
        before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    return { rows: rows.slice(0, limit), more: rows.length > limit };
  }

  /**
   * Spends an enrollment token: true for exactly one caller, false when it was spent already.
   * Entries are kept until the token would have expired anyway.
   */
  spendEnrollment(tokenHash: string, expiresAt: number): boolean {
    this.#sql.exec("DELETE FROM spent_enrollments WHERE expires_at <= ?", now());
    const inserted = this.#sql
      .exec(
        "INSERT INTO spent_enrollments (token_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING token_hash",
        tokenHash,
        expiresAt,
      )
      .toArray();
    return inserted.length === 1;
  }

  /** GET /state/live, forwarded by the worker after authorization: accepts a hibernatable WebSocket. */
  override async fetch(request: Request): Promise<Response> {
    const viewer = JSON.parse(request.headers.get(VIEWER_HEADER) ?? "null") as LiveViewer | null;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !viewer) {
      return new Response("Expected an authorized WebSocket upgrade", { status: 400 });
    }
    if (this.#removed(viewer.userId)) return new Response("Removed from the care team", { status: 403 });
    if (viewer.logged) this.#logAccess("live", viewer.fields, viewer);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [`s:${viewer.sessionId}`, `u:${viewer.userId}`]);
    server.serializeAttachment(viewer);
    server.send(message(only(this.read(), viewer.fields ?? CARE_FIELDS)));
    const protocol = request.headers.get(PROTOCOL_HEADER);
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
    });
  }

  /** Closes the live sockets of sessions that ended; returns how many it closed. */
  endSessions(which: EndedSessions): number {
    const sockets =
      "all" in which
        ? this.ctx.getWebSockets()
        : "userId" in which
          ? this.ctx.getWebSockets(`u:${which.userId}`)
          : which.sessionIds.flatMap((id) => this.ctx.getWebSockets(`s:${id}`));
    for (const ws of sockets) {
      try {
        ws.close(CLOSE_SESSION_ENDED, "session ended");
      } catch {
        // Already closing.
      }
    }
    return sockets.length;
  }

  /** The channel is one-way (server to client); "ping" is answered by the auto-response. */
  override webSocketMessage(): void {}

  #change(
    action: HistoryEntry["action"],
    fields: CareField[],
    actor: Actor,
    condition: VersionCondition | undefined,
    values: () => (string | null)[],
  ): WriteResult {
    const result = this.ctx.storage.transactionSync((): WriteResult => {
      if (this.#removed(actor.userId)) return { ok: false, reason: "removed" };
      const current = this.read();
      if (condition !== undefined && condition !== "*" && !condition.includes(current.version)) {
        return { ok: false, reason: "stale", state: current };
      }
      const version = current.version + 1;
      const at = now();
      const sets = fields.map((f) => `${f} = ?`).join(", ");
      this.#sql.exec(
        `UPDATE record SET ${sets}, version = ?, updated_at = ? WHERE id = 1`,
        ...values(),
        version,
        at,
      );
      this.#sql.exec(
        "INSERT INTO audit (version, action, fields, user_id, user_group, at) VALUES (?, ?, ?, ?, ?, ?)",
        version,
        action,
        JSON.stringify(fields),
        actor.userId,
        actor.group,
        at,
      );
      if (actor.logged) this.#logAccess(action === "reset" ? "reset" : "write", fields, actor);
      return { ok: true, state: this.read() };
    });
    if (result.ok) this.#broadcast(result.state);
    return result;
  }

  #removed(userId: number): boolean {
    return this.#sql.exec("SELECT 1 FROM removed_members WHERE user_id = ?", userId).toArray().length > 0;
  }

  #logAccess(action: AccessEntry["action"], fields: readonly CareField[], actor: Actor): void {
    this.#sql.exec(
      "INSERT INTO access_log (action, fields, user_id, user_group, at) VALUES (?, ?, ?, ?, ?)",
      action,
      JSON.stringify(fields),
      actor.userId,
      actor.group,
      now(),
    );
  }

  #broadcast(state: CareState): void {
    const t = now();
    // One message per set of readable fields (most sockets share one).
    const texts = new Map<string, string>();
    for (const ws of this.ctx.getWebSockets()) {
      const viewer = ws.deserializeAttachment() as LiveViewer | null;
      try {
        if (!viewer || viewer.expiresAt <= t) {
          ws.close(CLOSE_TOKEN_EXPIRED, "token expired");
          continue;
        }
        const fields = viewer.fields ?? CARE_FIELDS;
        const key = fields.join(",");
        let text = texts.get(key);
        if (text === undefined) {
          text = message(only(state, fields));
          texts.set(key, text);
        }
        ws.send(text);
      } catch {
        // The socket is closing: it will not be returned by getWebSockets() much longer.
      }
    }
  }
}

/** The state with only `fields` (and the version). */
function only(state: CareState, fields: readonly CareField[]): CareState {
  const out: CareState = { version: state.version };
  for (const f of fields) if (state[f] !== undefined) out[f] = state[f];
  return out;
}

/** What a live socket receives: every new state. */
function message(state: CareState): string {
  return JSON.stringify({ type: "state", state });
}
