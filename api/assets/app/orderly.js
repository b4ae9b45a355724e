// Orderly's reference client: what the portal and the console share. Everything goes
// through the public GraphQL API at /graphql with a bearer token — queries and
// mutations over POST, live updates over graphql-ws on the same path — exactly as a
// partner's own app would. No framework, no build step.

const ENDPOINT = new URL("/graphql", window.location.href);

/** WebSocket close codes that mean the credentials were refused. */
const SIGNED_OUT = [4401, 4403];

/** A GraphQL or transport failure, with the API's stable error code. */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** The signed-in session of one page (`portal` or `console`), kept for the tab's life. */
export class Session {
  constructor(page) {
    this.key = `orderly.${page}.session`;
    const saved = sessionStorage.getItem(this.key);
    this.value = saved ? JSON.parse(saved) : null;
    this.ws = null;
  }

  get signedIn() {
    return this.value !== null;
  }

  get name() {
    return this.value?.name ?? "";
  }

  /** Signs in with the server's demo switch (only on the embedded default with demo data). */
  async demo(role, email) {
    const response = await fetch("/demo/sign-in", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(email ? { role, email } : { role }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = body.errors?.[0];
      throw new ApiError(error?.message ?? `HTTP ${response.status}`, error?.extensions?.code);
    }
    this.remember(body);
  }

  /** Signs in with a token minted elsewhere (`orderly token …`). */
  useToken(token, name) {
    this.remember({ token: token.trim(), name });
  }

  remember(value) {
    this.value = value;
    sessionStorage.setItem(this.key, JSON.stringify(value));
  }

  signOut() {
    this.ws?.dispose();
    this.ws = null;
    this.value = null;
    sessionStorage.removeItem(this.key);
  }

  /** Runs a query or mutation; returns `data`, or throws the first error. */
  async request(query, variables = {}) {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        authorization: `Bearer ${this.value?.token ?? ""}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json().catch(() => null);
    if (!body) throw new ApiError(`HTTP ${response.status}`, "UNAVAILABLE");
    const error = body.errors?.[0];
    if (error) throw new ApiError(error.message, error.extensions?.code);
    return body.data;
  }

  /**
   * Runs a mutation whose payload has `userErrors`; returns the payload, or throws the
   * user errors joined into one message.
   */
  async mutate(query, variables, field) {
    const data = await this.request(query, variables);
    const payload = data[field];
    if (payload.userErrors?.length) {
      const text = payload.userErrors
        .map((e) => (e.field?.length ? `${e.field.join(".")}: ${e.message}` : e.message))
        .join("; ");
      throw new ApiError(text, payload.userErrors[0].code);
    }
    return payload;
  }

  /**
   * Subscribes over graphql-ws (one socket per page, shared by every subscription; it
   * reconnects by itself). `onData` gets each `data`; returns a function that stops it.
   */
  subscribe(query, variables, onData, onError = reportError) {
    if (!this.ws) {
      this.ws = globalThis.graphqlWs.createClient({
        url: ENDPOINT.href.replace(/^http/, "ws"),
        connectionParams: () => ({ authorization: `Bearer ${this.value?.token ?? ""}` }),
        retryAttempts: Infinity,
        // Reconnect after any drop except a refused sign-in (4401, 4403: the token
        // expired or was revoked), which only signing in again mends.
        shouldRetry: (event) => !SIGNED_OUT.includes(event?.code),
        on: {
          connected: () => setLive(true),
          closed: (event) => {
            setLive(false);
            if (SIGNED_OUT.includes(event?.code)) {
              reportError(new ApiError("Your session has ended: sign out and in again.", "UNAUTHENTICATED"));
            }
          },
        },
      });
    }
    return this.ws.subscribe(
      { query, variables },
      {
        next: (message) => {
          if (message.errors?.length) onError(new ApiError(message.errors[0].message));
          else onData(message.data);
        },
        error: (error) => onError(error instanceof Error ? error : new ApiError(String(error?.reason ?? error))),
        complete: () => {},
      },
    );
  }
}

/** Shows the connection state of live updates in the page's `#live` badge. */
function setLive(connected) {
  const badge = document.getElementById("live");
  if (!badge) return;
  badge.textContent = connected ? "Live" : "Offline";
  badge.className = connected ? "badge live" : "badge offline";
}

/** Builds an element: `h("a", { href }, "text", child…)`; `on…` attributes bind events. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** `{amount: "8999.00", currencyCode: "USD"}` → "$8,999.00". */
export function money(value) {
  if (!value) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: value.currencyCode }).format(
      Number(value.amount),
    );
  } catch {
    return `${value.amount} ${value.currencyCode}`;
  }
}

/** An RFC 3339 timestamp as a short local date and time. */
export function when(timestamp) {
  if (!timestamp) return "";
  return new Date(timestamp).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** An RFC 3339 timestamp as a short local date ("Dec 4"). */
export function day(timestamp) {
  if (!timestamp) return "";
  return new Date(timestamp).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/** `PARTIALLY_SHIPPED` → "Partially shipped". */
export function words(value) {
  if (!value) return "";
  const text = value.toLowerCase().replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Shows a short message at the bottom of the page for a few seconds. */
export function toast(text, kind = "info") {
  const area = document.getElementById("toasts");
  if (!area) return;
  const item = h("div", { class: `toast ${kind}`, role: "status" }, text);
  area.append(item);
  setTimeout(() => item.remove(), 6000);
}

/** Shows an error as a toast (and in the console, for whoever debugs). */
export function reportError(error) {
  console.error(error);
  toast(error.code ? `${error.message} (${error.code})` : error.message, "error");
}

/**
 * The sign-in screen: the demo switch (when the server has one) and a token field.
 * Calls `onSignedIn` once the session holds a token.
 */
export function signInForm(session, { role, title, hint, onSignedIn }) {
  const token = h("textarea", { id: "token", rows: 3, placeholder: "eyJhbGciOi…" });
  const demo = h(
    "button",
    {
      id: "demo-sign-in",
      class: "primary",
      onclick: async () => {
        try {
          await session.demo(role);
          onSignedIn();
        } catch (error) {
          reportError(error.code === "NOT_FOUND" ? new ApiError("This server has no demo sign-in.") : error);
        }
      },
    },
    "Try the demo",
  );
  const useToken = h(
    "button",
    {
      onclick: () => {
        if (!token.value.trim()) return reportError(new ApiError("Paste a token first."));
        session.useToken(token.value, "");
        onSignedIn();
      },
    },
    "Sign in with token",
  );
  return h(
    "section",
    { class: "card sign-in" },
    h("h2", {}, title),
    h("p", {}, demo),
    h("p", { class: "muted" }, "The demo switch works on the embedded default with demo data only."),
    h("label", { for: "token" }, hint),
    token,
    h("p", {}, useToken),
  );
}
