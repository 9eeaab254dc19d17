/**
 * The portal's pages (hono/jsx, rendered on the server; text and attributes are escaped by JSX). Plain,
 * accessible HTML: one <main> landmark with a skip link, headings in order, labelled fields, status
 * messages in live regions; a viewport meta tag and a small responsive stylesheet for phones.
 */
import type { Child } from "hono/jsx";
import type { CareField } from "../../services/care";
import type { PortalClinic } from "../../services/portal";
import type { WaitingRoom } from "../../services/waiting";

/** The clinic a page belongs to (its name in the header and title, its logo and accent colour). */
export type PageClinic = Pick<PortalClinic, "code" | "name" | "logoUrl" | "accentColor">;

export interface Session {
  /** The session's CSRF token (the sign-out form and the page's scripts send it). */
  csrf: string;
  /** Who is signed in, when the page knows. */
  name?: string;
}

export function SignOutForm({ csrf }: { csrf: string }) {
  return (
    <form method="post" action="/logout">
      <input type="hidden" name="csrf" value={csrf} />
      <button type="submit" class="secondary">
        Sign out
      </button>
    </form>
  );
}

/** The per-clinic stylesheet (its accent colour), versioned by the colour so that a change shows at once. */
export function clinicCssHref(clinic: PageClinic): string | undefined {
  if (!clinic.accentColor) return undefined;
  return `/portal/assets/clinic/${encodeURIComponent(clinic.code)}.css?v=${clinic.accentColor.slice(1)}`;
}

export function Layout(props: {
  title: string;
  clinic?: PageClinic;
  session?: Session;
  scripts?: string[];
  wide?: boolean;
  children?: Child;
}) {
  const { title, clinic, session, scripts = [], children } = props;
  const brand = clinic?.name ?? "Clinic Edge";
  const clinicCss = clinic ? clinicCssHref(clinic) : undefined;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {session ? <meta name="csrf-token" content={session.csrf} /> : null}
        {clinic ? <meta name="clinic-code" content={clinic.code} /> : null}
        <title>{`${title} · ${brand}`}</title>
        <link rel="icon" href="/portal/assets/icon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/portal/assets/portal.css" />
        {clinicCss ? <link rel="stylesheet" href={clinicCss} /> : null}
        {scripts.map((s) => (
          <script src={`/portal/assets/${s}`} defer />
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <p class="brand">
            {clinic?.logoUrl ? <img class="logo" src={clinic.logoUrl} alt="" width="32" height="32" /> : null}
            <span>{brand}</span>
          </p>
          {session ? (
            <div class="who">
              {session.name ? <span>Signed in as {session.name}</span> : <span>Signed in</span>}
              <SignOutForm csrf={session.csrf} />
            </div>
          ) : null}
        </header>
        <main id="main" class={props.wide ? "wide" : undefined}>
          {children}
        </main>
      </body>
    </html>
  );
}

export function LoginView(props: {
  /** The clinic when the link (`?clinic=`) or the host names it: no clinic-code field then. */
  clinic?: PageClinic;
  /** The clinic code field's value when the clinic is not known. */
  clinicCode: string;
  username?: string;
  next?: string;
  csrf: string;
  error?: string;
}) {
  const { clinic } = props;
  return (
    <Layout title="Sign in" clinic={clinic}>
      <h1>{clinic ? `Sign in to ${clinic.name}` : "Sign in"}</h1>
      {props.error ? (
        <p class="error" role="alert" id="login-error">
          {props.error}
        </p>
      ) : null}
      <form
        method="post"
        action="/login"
        class="stack"
        aria-describedby={props.error ? "login-error" : undefined}
      >
        <input type="hidden" name="csrf" value={props.csrf} />
        {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
        {clinic ? (
          <input type="hidden" name="clinic" value={clinic.code} />
        ) : (
          <label>
            Clinic code
            <input
              name="clinic"
              value={props.clinicCode}
              required
              autocomplete="organization"
              autocapitalize="none"
              aria-describedby="clinic-hint"
            />
            <span class="hint" id="clinic-hint">
              The short code your clinic gave you.
            </span>
          </label>
        )}
        <label>
          Username or email
          <input
            name="username"
            value={props.username ?? ""}
            required
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            autofocus={!props.error}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            required
            autocomplete="current-password"
            autofocus={!!props.error}
          />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">Coming from your clinic's portal? Use its link to sign in here directly.</p>
    </Layout>
  );
}

/** The second sign-in step of a user with two-factor on: the code of their authenticator app. */
export function LoginCodeView(props: {
  clinic?: PageClinic;
  clinicCode: string;
  state: string;
  next?: string;
  csrf: string;
  error?: string;
}) {
  const described = props.error ? "code-error code-hint" : "code-hint";
  const startAgain = props.clinic ? `/login?clinic=${encodeURIComponent(props.clinic.code)}` : "/login";
  return (
    <Layout title="Two-factor code" clinic={props.clinic}>
      <h1>Enter your two-factor code</h1>
      {props.error ? (
        <p class="error" role="alert" id="code-error">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/login/code" class="stack">
        <input type="hidden" name="csrf" value={props.csrf} />
        <input type="hidden" name="state" value={props.state} />
        <input type="hidden" name="clinic" value={props.clinicCode} />
        {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
        <label>
          6-digit code
          <input
            name="code"
            required
            inputmode="numeric"
            pattern="[0-9]{6}"
            maxlength={6}
            autocomplete="one-time-code"
            autofocus
            aria-describedby={described}
          />
        </label>
        <p class="hint" id="code-hint">
          Open your authenticator app and type the code it shows for {props.clinic?.name ?? "Clinic Edge"}. It
          changes every 30 seconds.
        </p>
        <button type="submit">Verify</button>
      </form>
      <p class="muted">
        <a href={startAgain}>Start again</a>
      </p>
    </Layout>
  );
}

export function DashboardView(props: { clinic?: PageClinic; session: Session; rooms: WaitingRoom[] }) {
  return (
    <Layout title="Waiting rooms" clinic={props.clinic} session={props.session} scripts={["dashboard.js"]}>
      <h1>Waiting rooms</h1>
      <p id="dashboard-status" class="muted" role="status">
        Patients appear here while their waiting page is open; this list updates by itself.
      </p>
      <p id="no-rooms" hidden={props.rooms.length > 0}>
        You are not assigned to a waiting room yet.
      </p>
      <div id="rooms" aria-live="polite" aria-relevant="additions removals">
        {props.rooms.map((room, i) => (
          <section class="room" data-room={room.code} aria-labelledby={`room-${i}`}>
            <h2 id={`room-${i}`}>{room.name}</h2>
            <p class="empty muted" hidden={room.patients.length > 0}>
              No patients waiting.
            </p>
            <ul class="patients" aria-label={`Patients waiting in ${room.name}`}>
              {room.patients.map((p) => (
                <li data-user={String(p.id)}>
                  <a class="name" href={`/providers/patients/${p.id}`}>
                    {`${p.firstName} ${p.lastName}`.trim()}
                  </a>
                  <span class="seen muted">{`last seen ${ago(p.seenAgo)}`}</span>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
      <p id="dashboard-updated" class="muted" />
    </Layout>
  );
}

/** The same wording as the dashboard's script. */
export function ago(s: number): string {
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export function ClinicView(props: {
  clinic?: PageClinic;
  session: Session;
  rooms: { name: string }[];
  heartbeat: number;
  record?: RecordProps;
  /** Why there is no record section (a guest, a patient the clinic has not registered for records). */
  noRecord?: string;
}) {
  const names = props.rooms.map((r) => r.name).join(", ");
  const inRoom = props.rooms.length > 0;
  return (
    <Layout
      title="Waiting room"
      clinic={props.clinic}
      session={props.session}
      scripts={props.record ? ["clinic.js", "record.js"] : ["clinic.js"]}
    >
      <h1>Waiting room</h1>
      {inRoom ? (
        <p>
          You are waiting in <strong id="room-name">{names}</strong>.
        </p>
      ) : (
        <p id="no-room">You are not in a waiting room yet: your clinic adds you to one.</p>
      )}
      <div
        id="checkin"
        class="checkin"
        role="status"
        data-state="pending"
        data-rooms={String(props.rooms.length)}
        data-heartbeat={String(props.heartbeat)}
      >
        {inRoom ? "Checking you in…" : "Connecting…"}
      </div>
      <noscript>
        <p class="error">This page needs JavaScript to keep you checked in.</p>
      </noscript>
      <p class="muted">
        {inRoom
          ? "Your provider sees you as waiting while this page is open."
          : "Keep this page open: once your clinic adds you to a room, your provider sees you as waiting."}
      </p>
      {props.record ? (
        <RecordSections {...props.record} />
      ) : props.noRecord ? (
        <p class="muted">{props.noRecord}</p>
      ) : null}
    </Layout>
  );
}

// ---------- the care record ----------

export const FIELD_LABELS: Record<CareField, string> = {
  medical_history: "Medical history",
  office_visit_notes: "Office visit notes",
  prescription: "Prescription",
  insurer_reply: "Insurer's reply",
};

export interface RecordProps {
  patientId: number;
  /** The record's current state: the fields the viewer reads (absent when never set) and the version. */
  state: Partial<Record<CareField, string>> & { version: number };
  readable: CareField[];
  writable: CareField[];
  /** Whether the viewer reads the access log (the patient). */
  accessLog: boolean;
  /** "your" (the patient) or the patient's name. */
  whose: "own" | "team";
}

/** The record's fields, editors, history and (for the patient) access log; record.js keeps them live. */
export function RecordSections(props: RecordProps) {
  const { state, readable, writable } = props;
  const shown = readable.filter((f) => !writable.includes(f));
  const own = props.whose === "own";
  return (
    <div
      id="record"
      class="record"
      data-patient={String(props.patientId)}
      data-version={String(state.version)}
    >
      <h2 id="record-heading">{own ? "Your care record" : "Care record"}</h2>
      <p class="muted">
        Version <span id="record-version">{String(state.version)}</span>.{" "}
        <span id="record-live" role="status">
          Connecting for live updates…
        </span>
      </p>
      {writable.map((f) => (
        <form class="field stack card" data-field={f} method="post">
          <label for={`f-${f}`}>{FIELD_LABELS[f]}</label>
          <textarea id={`f-${f}`} name={f} rows={6} maxlength={32768} aria-describedby={`s-${f}`}>
            {state[f] ?? ""}
          </textarea>
          <div class="conflict" id={`c-${f}`} hidden>
            <p>
              <strong>Someone changed this while you were editing.</strong> Their newer text is below; yours
              is still in the box above. Merge them there and save, or take theirs.
            </p>
            <p class="newer text" data-newer={f} />
            <div class="actions">
              <button type="button" class="secondary" data-take={f}>
                Take their text
              </button>
              <button type="button" class="secondary" data-append={f}>
                Add their text below mine
              </button>
            </div>
          </div>
          <div class="actions">
            <button type="submit" disabled>
              {`Save ${FIELD_LABELS[f].toLowerCase()}`}
            </button>
            <span class="muted" id={`s-${f}`} role="status" />
          </div>
        </form>
      ))}
      {shown.map((f) => (
        <section class="field card" aria-labelledby={`h-${f}`}>
          <h3 id={`h-${f}`}>{FIELD_LABELS[f]}</h3>
          <p class="text" data-field={f} aria-live="polite">
            {state[f] ?? "Nothing written yet."}
          </p>
        </section>
      ))}
      <section class="card" aria-labelledby="history-heading">
        <h3 id="history-heading">Changes</h3>
        <ol id="history" class="log" aria-live="polite" aria-relevant="additions" />
        <p class="muted" id="history-empty">
          Loading the changes…
        </p>
      </section>
      {props.accessLog ? (
        <section class="card" aria-labelledby="access-heading">
          <h3 id="access-heading">Who accessed your record</h3>
          <p class="muted">Every read and change by anyone but you: who, when, which fields.</p>
          <ol id="access-log" class="log" aria-live="polite" aria-relevant="additions" />
          <p class="muted" id="access-empty">
            Loading…
          </p>
          <button type="button" class="secondary" id="access-refresh">
            Refresh the list
          </button>
        </section>
      ) : null}
      <noscript>
        <p class="error">Editing and live updates need JavaScript.</p>
      </noscript>
    </div>
  );
}

/** A provider's page of one patient's care record. */
export function RecordView(props: {
  clinic?: PageClinic;
  session: Session;
  patientName: string;
  record: RecordProps;
}) {
  return (
    <Layout
      title={`Care record of ${props.patientName}`}
      clinic={props.clinic}
      session={props.session}
      scripts={["record.js"]}
    >
      <p class="crumbs">
        <a href="/providers/dashboard">Back to the waiting rooms</a>
      </p>
      <h1>{props.patientName}</h1>
      <RecordSections {...props.record} />
    </Layout>
  );
}

/** A page with a heading, a message and links (signed out, 403, errors). */
export function MessageView(props: {
  title: string;
  message: string;
  detail?: string;
  clinic?: PageClinic;
  session?: Session;
  links?: { href: string; text: string }[];
}) {
  return (
    <Layout title={props.title} clinic={props.clinic} session={props.session}>
      <div class="card message">
        <h1>{props.title}</h1>
        <p>{props.message}</p>
        {props.detail ? <p class="muted">{props.detail}</p> : null}
        {props.links?.length ? (
          <ul class="links">
            {props.links.map((l) => (
              <li>
                <a href={l.href}>{l.text}</a>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </Layout>
  );
}

/** A confirmation page for GET /logout while signed in (signing out is a POST with the CSRF token). */
export function SignOutView({ session, clinic }: { session: Session; clinic?: PageClinic }) {
  return (
    <Layout title="Sign out" clinic={clinic}>
      <div class="card message">
        <h1>Sign out</h1>
        <p>Sign out of {clinic?.name ?? "Clinic Edge"} on this device?</p>
        <SignOutForm csrf={session.csrf} />
      </div>
    </Layout>
  );
}
