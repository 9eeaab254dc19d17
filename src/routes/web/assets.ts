/**
 * The portal's stylesheet and scripts, served from this worker (`GET /portal/assets/:file`) so that the
 * Content-Security-Policy can allow only same-origin scripts and styles: no inline code, no build step.
 * The scripts build every element with textContent (never innerHTML), so names from the API cannot inject
 * markup.
 */

const css = `:root {
  color-scheme: light dark;
  --accent: #0b5cad;
  --ok: #1a7f37;
  --bad: #b42318;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.5;
}
* { box-sizing: border-box; }
body { margin: 0; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; padding: .5rem; background: Canvas; color: CanvasText; }
.site { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between;
  padding: .75rem 1rem; border-bottom: 1px solid #8884; }
.brand { margin: 0; font-weight: 700; }
.who { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 0; }
main { max-width: 42rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
form.stack { display: grid; gap: .9rem; }
label { display: grid; gap: .25rem; font-weight: 600; }
input { font: inherit; width: 100%; padding: .6rem; border: 1px solid #888; border-radius: .4rem; }
button { font: inherit; min-height: 44px; padding: .5rem 1rem; border: 0; border-radius: .4rem;
  background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { min-height: 36px; background: transparent; color: inherit; border: 1px solid #888; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.error { margin: 0 0 1rem; padding: .5rem .75rem; border-left: 4px solid var(--bad); background: #b4231814; }
.muted { opacity: .8; }
.room { margin-bottom: 1rem; padding: .75rem 1rem; border: 1px solid #8884; border-radius: .5rem; }
.patients { list-style: none; margin: 0; padding: 0; }
.patients li { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .25rem 1rem;
  padding: .5rem 0; border-top: 1px solid #8883; }
.patients li:first-child { border-top: 0; }
.name { font-weight: 600; }
.checkin { margin: 1rem 0; padding: 1rem; border: 2px solid #8886; border-radius: .5rem;
  font-size: 1.15rem; font-weight: 600; }
.checkin[data-state="in"] { border-color: var(--ok); background: #1a7f3714; }
.checkin[data-state="out"], .checkin[data-state="retrying"] { border-color: var(--bad); background: #b4231814; }
`;

/** Provider dashboard: polls the JSON endpoint and updates the rooms in place (no reload). */
const dashboard = `"use strict";
(() => {
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
        item.append(element("span", "name"), element("span", "seen muted"));
      }
      item.querySelector(".name").textContent = p.name;
      item.querySelector(".seen").textContent = "last seen " + ago(p.seen_seconds_ago);
      if (list.children[j] !== item) list.insertBefore(item, list.children[j] || null);
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
    link.href = "/login?next=" + encodeURIComponent(location.pathname);
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
(() => {
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
        link.href = "/login?next=" + encodeURIComponent(location.pathname);
        link.textContent = "Sign in again";
        return show("out", "You are no longer checked in: your session has ended. ", link);
      }
      if (!res.ok) throw new Error("HTTP " + res.status);
      const body = await res.json();
      heartbeat = body.data.heartbeat;
      show("in", "You are checked in. Keep this page open while you wait.");
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

/** A plain mark, so that browsers do not ask for /favicon.ico. */
const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b5cad"/><path d="M13 7h6v6h6v6h-6v6h-6v-6H7v-6h6z" fill="#fff"/></svg>`;

export const ASSETS: Record<string, { type: string; body: string }> = {
  "icon.svg": { type: "image/svg+xml", body: icon },
  "portal.css": { type: "text/css; charset=utf-8", body: css },
  "dashboard.js": { type: "text/javascript; charset=utf-8", body: dashboard },
  "clinic.js": { type: "text/javascript; charset=utf-8", body: clinic },
};
