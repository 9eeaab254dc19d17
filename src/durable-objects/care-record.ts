/**
 * The shared care record (register family; DESIGN.md "Shared care state"). One instance per clinic
 * record (`careRecord()` in services/care.ts), called through typed RPC methods; `fetch` only accepts
 * the WebSocket upgrade of GET /state/live.
 *
 * Every write runs synchronously inside the object (no await between reading and writing, in one
 * `transactionSync`), so concurrent writers of different fields never lose each other's changes and
 * every change gets the next version: versions never repeat, a reset included. State and audit trail
 * live in the object's SQLite storage; each new state is pushed to the connected sockets (hibernation
 * API: the object may sleep while sockets stay open).
 *
 * The object also keeps the clinic's ledger of spent enrollment tokens, so that spending one is
 * consistent everywhere at once (KV alone is not).
 */
import { DurableObject } from "cloudflare:workers";
import { now } from "../lib/clock";
import { CARE_FIELDS, type CareField } from "../services/care";
import type { Bindings } from "../types";

export type CareState = Partial<Record<CareField, string>> & { version: number };
export type CarePatch = Partial<Record<CareField, string>>;

/** Who changes the record (recorded in the audit trail). */
export interface Actor {
  userId: number;
  group: string;
}

/** The `If-Match` condition: the versions the writer has seen, or "*" (any). */
export type VersionCondition = number[] | "*";

export type WriteResult = { ok: true; state: CareState } | { ok: false; state: CareState };

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
  CREATE TABLE IF NOT EXISTS spent_enrollments (
    token_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
`;

type RecordRow = Record<CareField, string | null> & { version: number };

interface AuditRow {
  version: number;
  action: "update" | "reset";
  fields: string;
  user_id: number;
  user_group: string;
  at: number;
  [key: string]: SqlStorageValue;
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

  /** Sets the given fields (others are kept) when `condition` holds; the audit entry is in the same transaction. */
  write(patch: CarePatch, actor: Actor, condition?: VersionCondition): WriteResult {
    const fields = CARE_FIELDS.filter((f) => typeof patch[f] === "string");
    if (fields.length === 0) throw new Error("CareRecord.write: no field to write");
    return this.#change("update", fields, actor, condition, () => fields.map((f) => patch[f] as string));
  }

  /** Clears every field (the demo client's reset). The version moves on; it never starts again. */
  reset(actor: Actor, condition?: VersionCondition): WriteResult {
    return this.#change("reset", [...CARE_FIELDS], actor, condition, () => CARE_FIELDS.map(() => null));
  }

  /** The audit trail, newest first: at most `limit` entries with a version below `before`. */
  history(limit: number, before?: number): { entries: HistoryEntry[]; nextBefore: number | null } {
    const rows = this.#sql
      .exec<AuditRow>(
        "SELECT version, action, fields, user_id, user_group, at FROM audit WHERE version < ? ORDER BY version DESC LIMIT ?",
        before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit);
    return {
      entries: page.map((r) => ({
        version: r.version,
        action: r.action,
        fields: JSON.parse(r.fields) as CareField[],
        userId: r.user_id,
        group: r.user_group,
        at: r.at,
      })),
      nextBefore: rows.length > limit ? (page[page.length - 1]?.version ?? null) : null,
    };
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
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [`s:${viewer.sessionId}`, `u:${viewer.userId}`]);
    server.serializeAttachment(viewer);
    server.send(message(this.read()));
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
      const current = this.read();
      if (condition !== undefined && condition !== "*" && !condition.includes(current.version)) {
        return { ok: false, state: current };
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
      return { ok: true, state: this.read() };
    });
    if (result.ok) this.#broadcast(result.state);
    return result;
  }

  #broadcast(state: CareState): void {
    const text = message(state);
    const t = now();
    for (const ws of this.ctx.getWebSockets()) {
      const viewer = ws.deserializeAttachment() as LiveViewer | null;
      try {
        if (!viewer || viewer.expiresAt <= t) ws.close(CLOSE_TOKEN_EXPIRED, "token expired");
        else ws.send(text);
      } catch {
        // The socket is closing: it will not be returned by getWebSockets() much longer.
      }
    }
  }
}

/** What a live socket receives: every new state. */
function message(state: CareState): string {
  return JSON.stringify({ type: "state", state });
}
