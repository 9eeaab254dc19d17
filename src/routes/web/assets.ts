/**
 * The portal's stylesheet and scripts, served from this worker (`GET /portal/assets/:file`) so that the
 * Content-Security-Policy can allow only same-origin scripts and styles: no inline code, no build step.
 * The scripts build every element with textContent (never innerHTML), so names from the API cannot inject
 * markup.
 */

const css = `:root {
  color-scheme: light dark;
  --accent: #0b5cad;
  --accent-text: #ffffff;
  --ok: #1a7f37;
  --bad: #b42318;
  --line: #8886;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.5;
}
* { box-sizing: border-box; }
body { margin: 0; background: Canvas; color: CanvasText; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; padding: .5rem; background: Canvas; color: CanvasText; z-index: 1; }
.site { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between;
  padding: .75rem 1rem; border-bottom: 4px solid var(--accent); }
.brand { display: flex; gap: .5rem; align-items: center; margin: 0; font-weight: 700; font-size: 1.1rem; }
.logo { width: 32px; height: 32px; object-fit: contain; }
.who { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 0; }
main { max-width: 42rem; margin: 0 auto; padding: 1rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; }
a { color: inherit; text-decoration-color: var(--accent); text-decoration-thickness: 2px; text-underline-offset: 3px; }
.card { margin: 0 0 1rem; padding: 1rem; border: 1px solid var(--line); border-radius: .5rem; }
.message ul.links { padding-left: 1.25rem; }
form.stack { display: grid; gap: .9rem; }
main > form.stack { padding: 1rem; border: 1px solid var(--line); border-radius: .5rem; }
label { display: grid; gap: .25rem; font-weight: 600; }
.hint { font-weight: 400; font-size: .9rem; opacity: .85; margin: 0; }
input, textarea { font: inherit; width: 100%; padding: .6rem; border: 1px solid #767676; border-radius: .4rem;
  background: Field; color: FieldText; }
textarea { resize: vertical; min-height: 6rem; }
button { font: inherit; min-height: 44px; padding: .5rem 1rem; border: 0; border-radius: .4rem;
  background: var(--accent); color: var(--accent-text); cursor: pointer; }
button:disabled { opacity: .6; cursor: not-allowed; }
button.secondary { min-height: 36px; background: transparent; color: inherit; border: 1px solid #767676; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
input:focus-visible, textarea:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px; }
.error { margin: 0 0 1rem; padding: .5rem .75rem; border-left: 4px solid var(--bad); background: #b4231814; }
.muted { opacity: .85; }
.crumbs { margin: 0; }
.room { margin-bottom: 1rem; padding: .75rem 1rem; border: 1px solid var(--line); border-radius: .5rem; }
.patients { list-style: none; margin: 0; padding: 0; }
.patients li { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .25rem 1rem;
  padding: .5rem 0; border-top: 1px solid #8883; }
.patients li:first-child { border-top: 0; }
.name { font-weight: 600; }
a.name { padding: .25rem 0; }
.checkin { margin: 1rem 0; padding: 1rem; border: 2px solid var(--line); border-radius: .5rem;
  font-size: 1.15rem; font-weight: 600; }
.checkin[data-state="in"] { border-color: var(--ok); background: #1a7f3714; }
.checkin[data-state="out"], .checkin[data-state="retrying"] { border-color: var(--bad); background: #b4231814; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.conflict { padding: .75rem; border-left: 4px solid var(--bad); background: #b4231814; }
.conflict p { margin: 0 0 .5rem; }
.newer { padding: .5rem; border: 1px dashed var(--line); border-radius: .4rem; }
.log { margin: 0; padding-left: 1.25rem; }
.log li { padding: .25rem 0; }
.card > button { margin-top: .5rem; }
@media (min-width: 64rem) { main { max-width: 56rem; } }
`;

/** A clinic's branding: its accent colour, and the text colour that reads best on it (WCAG contrast). */
export function clinicCss(accent: string): string {
  const channel = (i: number) => {
    const v = Number.parseInt(accent.slice(1 + i * 2, 3 + i * 2), 16) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
  // Contrast with white is 1.05 / (L + 0.05), with near-black (#111111, L ≈ 0.0056) (L + 0.05) / 0.0556.
  const onWhite = 1.05 / (luminance + 0.05);
  const onBlack = (luminance + 0.05) / 0.0556;
  const text = onWhite >= onBlack ? "#ffffff" : "#111111";
  return `:root { --accent: ${accent}; --accent-text: ${text}; }\n`;
}

/**
 * Where a page's "Sign in again" link goes: back to this page, at the page's clinic (its
 * <meta name="clinic-code">), so that the form asks for no clinic code.
 */
const signInAgain = `function signInAgain() {
  const clinic = document.querySelector('meta[name="clinic-code"]');
  const query = new URLSearchParams({ next: location.pathname });
  if (clinic && clinic.content) query.set("clinic", clinic.content);
  return "/login?" + query;
}
`;

/** Provider dashboard: polls the JSON endpoint and updates the rooms in place (no reload). */
const dashboard = `"use strict";
${signInAgain}(() => {
  const POLL_MS = 5000;
  const rooms = document.getElementById("rooms");
  const status = document.getElementById("dashboard-status");
  const updated = document.getElementById("dashboard-updated");
  const noRooms = document.getElementById("no-rooms");
  if (!rooms || !status || !updated || !noRooms) return;
  const idle = status.textContent;

  const ago = (s) =>
    s < 10 ? "just now" : s < 60 ? s + " s ago" : s < 3600 ? Math.floor(s / 60) + " min ago" : Math.floor(s / 3600) + " h ago";

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function say(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  function buildRoom(room, i) {
    const section = element("section", "room");
    section.dataset.room = room.code;
    const heading = element("h2", "", room.name);
    heading.id = "room-" + i;
    section.setAttribute("aria-labelledby", heading.id);
    const list = element("ul", "patients");
    list.setAttribute("aria-label", "Patients waiting in " + room.name);
    section.append(heading, element("p", "empty muted", "No patients waiting."), list);
    return section;
  }

  function renderRoom(section, room) {
    const list = section.querySelector("ul.patients");
    const keep = new Set(room.patients.map((p) => p.id));
    for (const item of Array.from(list.children)) if (!keep.has(item.dataset.user)) item.remove();
    room.patients.forEach((p, j) => {
      let item = Array.from(list.children).find((li) => li.dataset.user === p.id);
      if (!item) {
        item = element("li");
        item.dataset.user = p.id;
        const link = element("a", "name");
        link.href = "/providers/patients/" + encodeURIComponent(p.id);
        item.append(link, element("span", "seen muted"));
      }
      const name = item.querySelector(".name");
      if (name.textContent !== p.name) name.textContent = p.name;
      item.querySelector(".seen").textContent = "last seen " + ago(p.seen_seconds_ago);
      // Moving the focused row would lose the keyboard user's place: only insert rows that are not there.
      if (list.children[j] !== item && !item.contains(document.activeElement)) {
        list.insertBefore(item, list.children[j] || null);
      }
    });
    section.querySelector(".empty").hidden = room.patients.length > 0;
  }

  function render(data) {
    const wanted = data.rooms.map((r) => r.code).join("\\n");
    const shown = Array.from(rooms.children).map((s) => s.dataset.room).join("\\n");
    if (wanted !== shown) rooms.replaceChildren(...data.rooms.map(buildRoom));
    data.rooms.forEach((room, i) => renderRoom(rooms.children[i], room));
    noRooms.hidden = data.rooms.length > 0;
    updated.textContent = "Updated " + new Date().toLocaleTimeString();
  }

  function ended() {
    const link = element("a", "", "Sign in again");
    link.href = signInAgain();
    status.replaceChildren("Your session has ended. ", link);
  }

  async function poll() {
    try {
      const res = await fetch("/providers/dashboard/rooms", {
        credentials: "same-origin",
        cache: "no-store",
        headers: { accept: "application/json" },
      });
      if (res.status === 401 || res.status === 403) return ended();
      if (!res.ok) throw new Error("HTTP " + res.status);
      render(await res.json());
      say(idle);
    } catch {
      say("Cannot reach the server: retrying…");
    }
    setTimeout(poll, POLL_MS);
  }

  setTimeout(poll, POLL_MS);
})();
`;

/** Patient waiting page: keeps the heartbeat alive at under half the heartbeat interval. */
const clinic = `"use strict";
${signInAgain}(() => {
  const box = document.getElementById("checkin");
  const token = document.querySelector('meta[name="csrf-token"]');
  if (!box || !token) return;
  let heartbeat = Number(box.dataset.heartbeat) || 300;
  let timer;

  // Under half the heartbeat (seed 000: "recommended < 1/2 of the heartbeat value").
  const interval = () => Math.floor(heartbeat * 1000 * 0.4);

  function show(state, text, extra) {
    if (box.dataset.state === state) return; // a live region: announce changes only
    box.dataset.state = state;
    box.replaceChildren(text, ...(extra ? [extra] : []));
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(beat, ms);
  }

  async function beat() {
    try {
      const res = await fetch("/api_v3/users/alive", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token.content, accept: "application/json" },
      });
      if (res.status === 401 || res.status === 403) {
        const link = document.createElement("a");
        link.href = signInAgain();
        link.textContent = "Sign in again";
        return show("out", "You are no longer checked in: your session has ended. ", link);
      }
      if (!res.ok) throw new Error("HTTP " + res.status);
      const body = await res.json();
      heartbeat = body.data.heartbeat;
      show(
        "in",
        box.dataset.rooms === "0"
          ? "You are signed in, but not in a waiting room yet: no provider sees you as waiting."
          : "You are checked in. Keep this page open while you wait.",
      );
      schedule(interval());
    } catch {
      show("retrying", "Connection problem: trying to keep you checked in…");
      schedule(Math.min(interval(), 15000));
    }
  }

  addEventListener("online", () => schedule(0));
  beat();
})();
`;

/**
 * The care record on a page (a provider's record page, the patient's waiting page): saves each editable
 * field with the version it edited (If-Match; a 412 shows the newer text and asks to merge), follows the
 * record live over a WebSocket (no reload), and lists its changes and (for the patient) who accessed it.
 */
const record = `"use strict";
${signInAgain}(() => {
  const root = document.getElementById("record");
  const token = document.querySelector('meta[name="csrf-token"]');
  if (!root || !token) return;
  const base = "/portal/records/" + encodeURIComponent(root.dataset.patient);
  const versionEl = document.getElementById("record-version");
  const live = document.getElementById("record-live");
  const LABELS = {
    medical_history: "medical history",
    office_visit_notes: "office visit notes",
    prescription: "prescription",
    insurer_reply: "insurer's reply",
  };
  let version = Number(root.dataset.version) || 0;

  // One editor per writable field: its text as last saved or received (synced), and its conflict box.
  const editors = new Map();
  for (const form of root.querySelectorAll("form[data-field]")) {
    const field = form.dataset.field;
    const box = form.querySelector("textarea");
    const editor = {
      form,
      box,
      synced: box.value,
      status: document.getElementById("s-" + field),
      conflict: document.getElementById("c-" + field),
      newer: form.querySelector("[data-newer]"),
      button: form.querySelector('button[type="submit"]'),
      theirs: "",
    };
    editors.set(field, editor);
    editor.button.disabled = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save(field);
    });
    form.querySelector("[data-take]").addEventListener("click", () => {
      box.value = editor.theirs;
      resolve(editor, "Their text is in the box: save it or edit further.");
    });
    form.querySelector("[data-append]").addEventListener("click", () => {
      box.value = box.value + (box.value && editor.theirs ? "\\n\\n" : "") + editor.theirs;
      resolve(editor, "Both texts are in the box: edit them into one, then save.");
    });
  }

  function say(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function resolve(editor, text) {
    editor.synced = editor.theirs;
    editor.conflict.hidden = true;
    say(editor.status, text);
    editor.box.focus();
  }

  function showConflict(editor, theirs) {
    editor.theirs = theirs;
    editor.newer.textContent = theirs || "(empty)";
    if (editor.conflict.hidden) {
      editor.conflict.hidden = false;
      say(editor.status, "Someone else changed this field: see their text above, then merge.");
    }
  }

  /** A state from the server (the live socket, a save, or a read after a 412). */
  function apply(state) {
    if (typeof state.version !== "number" || state.version < version) return;
    version = state.version;
    say(versionEl, String(version));
    for (const el of root.querySelectorAll("p.text[data-field]")) {
      say(el, state[el.dataset.field] || "Nothing written yet.");
    }
    for (const [field, editor] of editors) {
      const theirs = state[field] || "";
      if (theirs === editor.synced) continue;
      if (editor.box.value === editor.synced && editor.conflict.hidden) {
        editor.box.value = theirs; // not being edited: show the newer text
        editor.synced = theirs;
      } else if (editor.box.value === theirs) {
        editor.synced = theirs;
      } else {
        showConflict(editor, theirs); // never overwritten silently
      }
    }
  }

  function request(method, path, body) {
    const headers = { "X-CSRF-Token": token.content, accept: "application/json" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["If-Match"] = '"' + version + '"';
    }
    return fetch(base + path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function ended(text) {
    const link = document.createElement("a");
    link.href = signInAgain();
    link.textContent = "Sign in again";
    live.replaceChildren(text + " ", link);
  }

  async function save(field, retried) {
    const editor = editors.get(field);
    const text = editor.box.value;
    editor.button.disabled = true;
    say(editor.status, "Saving…");
    try {
      const res = await request("PUT", "", { [field]: text });
      if (res.status === 412) {
        // Someone saved first: read the newer state; only this field's change needs the writer's decision.
        const now = await request("GET", "");
        if (!now.ok) throw new Error("HTTP " + now.status);
        const state = await now.json();
        const theirs = state[field] || "";
        const untouched = theirs === editor.synced;
        apply(state);
        if (untouched && !retried) return save(field, true); // another field changed: nothing to merge
        if (theirs !== text) showConflict(editor, theirs);
        return;
      }
      if (res.status === 401) return ended("Your session has ended.");
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        say(editor.status, "Not saved: " + (body.message || "HTTP " + res.status));
        return;
      }
      editor.synced = text;
      editor.conflict.hidden = true;
      apply(await res.json());
      say(editor.status, "Saved " + LABELS[field] + " (version " + version + ").");
      refreshLists();
    } catch {
      say(editor.status, "Not saved: cannot reach the server. Your text is kept; try again.");
    } finally {
      editor.button.disabled = false;
    }
  }

  const when = (iso) => {
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  };
  const fieldList = (fields) => fields.map((f) => LABELS[f] || f).join(", ");
  const ACTIONS = {
    update: "changed",
    reset: "cleared the record",
    read: "read",
    write: "changed",
    live: "followed live",
  };

  function renderList(list, empty, entries, emptyText) {
    const items = entries.map((e) => {
      const li = document.createElement("li");
      li.dataset.key = String(e.id !== undefined ? e.id : e.version);
      const time = document.createElement("time");
      time.dateTime = e.at;
      time.textContent = when(e.at);
      const what = ACTIONS[e.action] || e.action;
      const fields = e.action === "reset" ? "" : " " + fieldList(e.fields);
      li.append(e.name + " (" + e.role + ") " + what + fields + " · ", time);
      return li;
    });
    const shown = Array.from(list.children).map((li) => li.dataset.key).join(",");
    if (shown !== items.map((li) => li.dataset.key).join(",")) {
      // New entries are added at the top, so that a screen reader hears only what is new.
      const known = new Set(Array.from(list.children).map((li) => li.dataset.key));
      if (items.every((li, i) => i < items.length - list.children.length || known.has(li.dataset.key))) {
        const fresh = items.filter((li) => !known.has(li.dataset.key));
        list.prepend(...fresh);
        while (list.children.length > items.length) list.lastElementChild.remove();
      } else {
        list.replaceChildren(...items);
      }
    }
    empty.textContent = entries.length === 0 ? emptyText : "";
    empty.hidden = entries.length > 0;
  }

  const history = document.getElementById("history");
  const access = document.getElementById("access-log");
  async function load(list, empty, path, emptyText) {
    if (!list) return;
    try {
      const res = await request("GET", path);
      if (!res.ok) throw new Error("HTTP " + res.status);
      renderList(list, empty, (await res.json()).entries, emptyText);
    } catch {
      empty.hidden = false;
      empty.textContent = "Could not load this list: it is tried again with the next change.";
    }
  }
  function refreshLists() {
    load(history, document.getElementById("history-empty"), "/history?limit=20", "No changes yet.");
    load(access, document.getElementById("access-empty"), "/access-log?limit=20", "Nobody but you has opened your record.");
  }
  const refresh = document.getElementById("access-refresh");
  if (refresh) refresh.addEventListener("click", refreshLists);

  // Live: the record's state at once, then after every change; reconnects after a network failure.
  let delay = 1000;
  function connect() {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "/live";
    const socket = new WebSocket(url, ["care-state", "csrf." + token.content]);
    socket.addEventListener("open", () => {
      delay = 1000;
      say(live, "Live: changes by others appear here as they are saved.");
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "state") {
        apply(message.state);
        refreshLists();
      }
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4001 || event.code === 4003) return ended("Your session has ended.");
      if (event.code === 4004) return say(live, "You are no longer on this patient's care team.");
      say(live, "Live updates interrupted: reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  refreshLists();
  connect();
})();
`;

/** A plain mark, so that browsers do not ask for /favicon.ico. */
const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b5cad"/><path d="M13 7h6v6h6v6h-6v6h-6v-6H7v-6h6z" fill="#fff"/></svg>`;

export const ASSETS: Record<string, { type: string; body: string }> = {
  "icon.svg": { type: "image/svg+xml", body: icon },
  "portal.css": { type: "text/css; charset=utf-8", body: css },
  "dashboard.js": { type: "text/javascript; charset=utf-8", body: dashboard },
  "clinic.js": { type: "text/javascript; charset=utf-8", body: clinic },
  "record.js": { type: "text/javascript; charset=utf-8", body: record },
};
