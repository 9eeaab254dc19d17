/**
 * The portal's pages (hono/jsx, rendered on the server; text and attributes are escaped by JSX). Plain,
 * accessible HTML: one <main> landmark with a skip link, headings in order, labelled fields, status
 * messages in live regions; a viewport meta tag and a small responsive stylesheet for phones.
 */
import type { Child } from "hono/jsx";
import type { WaitingRoom } from "../../services/waiting";

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

export function Layout(props: { title: string; session?: Session; script?: string; children?: Child }) {
  const { title, session, script, children } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {session ? <meta name="csrf-token" content={session.csrf} /> : null}
        <title>{`${title} · Clinic Edge`}</title>
        <link rel="icon" href="/portal/assets/icon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/portal/assets/portal.css" />
        {script ? <script src={`/portal/assets/${script}`} defer /> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <p class="brand">Clinic Edge</p>
          {session ? (
            <div class="who">
              {session.name ? <span>Signed in as {session.name}</span> : <span>Signed in</span>}
              <SignOutForm csrf={session.csrf} />
            </div>
          ) : null}
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}

export function LoginView(props: {
  clinic: string;
  username?: string;
  next?: string;
  csrf: string;
  error?: string;
}) {
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
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
        <label>
          Clinic code
          <input
            name="clinic"
            value={props.clinic}
            required
            autocomplete="organization"
            autocapitalize="none"
          />
        </label>
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
  clinic: string;
  state: string;
  next?: string;
  csrf: string;
  error?: string;
}) {
  const described = props.error ? "code-error code-hint" : "code-hint";
  return (
    <Layout title="Two-factor code">
      <h1>Enter your two-factor code</h1>
      {props.error ? (
        <p class="error" role="alert" id="code-error">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/login/code" class="stack">
        <input type="hidden" name="csrf" value={props.csrf} />
        <input type="hidden" name="state" value={props.state} />
        <input type="hidden" name="clinic" value={props.clinic} />
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
        <p class="muted" id="code-hint">
          Open your authenticator app and type the code it shows for Clinic Edge. It changes every 30 seconds.
        </p>
        <button type="submit">Verify</button>
      </form>
      <p class="muted">
        <a href="/login">Start again</a>
      </p>
    </Layout>
  );
}

export function DashboardView(props: { session: Session; rooms: WaitingRoom[] }) {
  return (
    <Layout title="Waiting rooms" session={props.session} script="dashboard.js">
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
                  <span class="name">{`${p.firstName} ${p.lastName}`.trim()}</span>
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

export function ClinicView(props: { session: Session; rooms: { name: string }[]; heartbeat: number }) {
  const names = props.rooms.map((r) => r.name).join(", ");
  return (
    <Layout title="Waiting room" session={props.session} script="clinic.js">
      <h1>Waiting room</h1>
      {props.rooms.length > 0 ? (
        <p>
          You are waiting in <strong id="room-name">{names}</strong>.
        </p>
      ) : (
        <p>You are not in a waiting room yet: your clinic adds you to one.</p>
      )}
      <div
        id="checkin"
        class="checkin"
        role="status"
        data-state="pending"
        data-heartbeat={String(props.heartbeat)}
      >
        Checking you in…
      </div>
      <noscript>
        <p class="error">This page needs JavaScript to keep you checked in.</p>
      </noscript>
      <p class="muted">Your provider sees you as waiting while this page is open.</p>
    </Layout>
  );
}

/** A page with a heading, a message and links (signed out, 403, errors). */
export function MessageView(props: {
  title: string;
  message: string;
  session?: Session;
  links?: { href: string; text: string }[];
}) {
  return (
    <Layout title={props.title} session={props.session}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {props.links?.length ? (
        <ul>
          {props.links.map((l) => (
            <li>
              <a href={l.href}>{l.text}</a>
            </li>
          ))}
        </ul>
      ) : null}
    </Layout>
  );
}

/** A confirmation page for GET /logout while signed in (signing out is a POST with the CSRF token). */
export function SignOutView({ session }: { session: Session }) {
  return (
    <Layout title="Sign out">
      <h1>Sign out</h1>
      <p>Sign out of Clinic Edge on this device?</p>
      <SignOutForm csrf={session.csrf} />
    </Layout>
  );
}
