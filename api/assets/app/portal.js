// The customer portal: Profile, Orders and Notes of the signed-in customer, kept live
// over `customerOrderUpdates` and `deliveryUpdates`. Every call is public GraphQL.

import { ApiError, Session, h, money, reportError, signInForm, toast, when, words } from "./orderly.js";

const session = new Session("portal");
const app = document.getElementById("app");

const ORDER_FIELDS = `
  fragment PortalOrder on Order {
    id number status placedAt editable version
    total { amount currencyCode }
    lines { id quantity quantityCancelled quantityFulfilled unitPrice { amount currencyCode } sku { code name } }
    fulfillmentOrders {
      id status deliveryLabel carrier trackingNumber trackingUrl shippedAt deliveredAt
      location { name }
      lines { quantity sku { name } }
    }
    returnableLines { quantity returnableUntil orderLine { id sku { code name } } }
    returns { id number status lines { quantity reason orderLine { sku { name } } } }
    notes { id body author createdAt visibility }
  }`;

const ME = `
  query PortalMe {
    me {
      id name email phone timeZone notifyByEmail notifyBySms version
      addresses { id label isDefault address { line1 line2 city region postalCode country } }
      orders(first: 10) { nodes { ...PortalOrder } pageInfo { hasNextPage endCursor } }
    }
  }
  ${ORDER_FIELDS}`;

const OLDER = `
  query PortalOlder($after: String!) {
    me { orders(first: 10, after: $after) { nodes { ...PortalOrder } pageInfo { hasNextPage endCursor } } }
  }
  ${ORDER_FIELDS}`;

const ORDER = `query PortalOrder($id: ID!) { order(id: $id) { ...PortalOrder } } ${ORDER_FIELDS}`;

const EVENTS = `
  query PortalEvents($id: ID!) {
    order(id: $id) { events(first: 100) { sequence type message occurredAt fulfillmentOrder { id } } }
  }`;

/**
 * What the page shows: the customer, their orders (newest first) and the cursor of the
 * older ones not yet shown, the open tab, and each order's open panel.
 */
const state = { me: null, orders: [], more: null, tab: "orders", open: new Map() };

/** Appends the next page of older orders. */
async function showOlder() {
  try {
    const data = await session.request(OLDER, { after: state.more });
    const known = new Set(state.orders.map((o) => o.id));
    state.orders.push(...data.me.orders.nodes.filter((o) => !known.has(o.id)));
    state.more = data.me.orders.pageInfo.hasNextPage ? data.me.orders.pageInfo.endCursor : null;
    render();
  } catch (error) {
    reportError(error);
  }
}

function statusLine(order) {
  const labels = [...new Set(order.fulfillmentOrders.filter((f) => f.status !== "CANCELLED").map((f) => f.deliveryLabel))];
  if (order.status === "CANCELLED") return { text: "Cancelled", kind: "" };
  if (labels.length === 0) return { text: words(order.status), kind: "" };
  const text = labels.join(" · ");
  const kind = order.status === "DELIVERED" ? "delivered" : /delay|exception/i.test(text) ? "late" : "soon";
  return { text, kind };
}

// ---- Orders -------------------------------------------------------------------------

function orderCard(order) {
  const line = statusLine(order);
  const open = state.open.get(order.id);
  const toggle = (panel) => () => {
    state.open.set(order.id, open === panel ? null : panel);
    render();
  };
  return h(
    "article",
    { class: "card order", id: `order-${order.number.replace("#", "")}`, dataset: { id: order.id } },
    h(
      "div",
      { class: "order-head" },
      h("h3", {}, `Order ${order.number}`),
      h("span", { class: "muted" }, `Placed ${when(order.placedAt)}`),
      h("span", { class: "badge" }, words(order.status)),
      h("strong", {}, money(order.total)),
    ),
    h("div", { class: `status-line ${line.kind}` }, line.text),
    h(
      "ul",
      {},
      order.lines.map((l) =>
        h("li", {}, `${l.quantity - l.quantityCancelled} × ${l.sku.name}`, h("span", { class: "muted" }, ` ${money(l.unitPrice)}`)),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      order.fulfillmentOrders.some((f) => f.shippedAt) && h("button", { class: "track", onclick: toggle("track") }, "Track"),
      order.editable && h("button", { class: "edit", onclick: toggle("edit") }, "Edit"),
      order.returnableLines.length > 0 && h("button", { class: "return", onclick: toggle("return") }, "Return"),
      h("button", { class: "reorder", onclick: toggle("reorder") }, "Reorder"),
    ),
    open === "track" && trackPanel(order),
    open === "edit" && editPanel(order),
    open === "return" && returnPanel(order),
    open === "reorder" && reorderPanel(order),
    order.returns.length > 0 &&
      h(
        "div",
        { class: "panel" },
        order.returns.map((r) =>
          h(
            "div",
            {},
            `Return ${r.number}: ${words(r.status)} — `,
            r.lines.map((l) => `${l.quantity} × ${l.orderLine.sku.name} (${words(l.reason)})`).join(", "),
          ),
        ),
      ),
  );
}

function trackPanel(order) {
  const events = h("ul", { class: "timeline" }, h("li", { class: "muted" }, "Loading events…"));
  session
    .request(EVENTS, { id: order.id })
    .then((data) => {
      const shipping = new Set([
        "SHIPPED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "ARRIVING_TOMORROW", "DELIVERED", "DELIVERY_EXCEPTION",
      ]);
      const list = data.order.events.filter((e) => shipping.has(e.type)).reverse();
      events.replaceChildren(
        ...(list.length
          ? list.map((e) => h("li", {}, h("strong", {}, words(e.type)), " ", e.message ?? "", " ", h("span", { class: "muted" }, when(e.occurredAt))))
          : [h("li", { class: "muted" }, "No carrier events yet.")]),
      );
    })
    .catch(reportError);
  return h(
    "div",
    { class: "panel track-panel" },
    order.fulfillmentOrders
      .filter((f) => f.shippedAt)
      .map((f) =>
        h(
          "p",
          {},
          h("strong", {}, f.deliveryLabel),
          ` — ${f.carrier ?? ""} `,
          // Only web links (the API accepts nothing else; a page never trusts that alone).
          /^https?:\/\//.test(f.trackingUrl ?? "")
            ? h("a", { href: f.trackingUrl, target: "_blank", rel: "noopener noreferrer" }, f.trackingNumber)
            : f.trackingNumber,
          h("span", { class: "muted" }, ` from ${f.location.name}: `, f.lines.map((l) => `${l.quantity} × ${l.sku.name}`).join(", ")),
        ),
      ),
    events,
  );
}

function editPanel(order) {
  const inputs = order.lines.map((l) => ({
    line: l,
    input: h("input", { type: "number", min: l.quantityFulfilled, max: 999, value: l.quantity - l.quantityCancelled, "aria-label": `Quantity of ${l.sku.name}` }),
  }));
  const save = async () => {
    const setQuantities = inputs
      .filter(({ line, input }) => Number(input.value) !== line.quantity - line.quantityCancelled)
      .map(({ line, input }) => ({ orderLineId: line.id, quantity: Number(input.value) }));
    if (!setQuantities.length) return toast("Nothing changed.");
    try {
      const payload = await session.mutate(
        `mutation PortalEdit($input: EditOrderInput!) { editOrder(input: $input) { order { ...PortalOrder } userErrors { code field message } } } ${ORDER_FIELDS}`,
        { input: { orderId: order.id, expectedVersion: order.version, setQuantities } },
        "editOrder",
      );
      state.open.set(order.id, null);
      replaceOrder(payload.order);
      toast(`Order ${order.number} updated.`);
    } catch (error) {
      reportError(error);
    }
  };
  return h(
    "div",
    { class: "panel edit-panel" },
    inputs.map(({ line, input }) => h("div", { class: "row" }, input, line.sku.name)),
    h("div", { class: "actions" }, h("button", { class: "primary", onclick: save }, "Save changes")),
  );
}

const REASONS = ["CHANGED_MIND", "DAMAGED", "DEFECTIVE", "NOT_AS_DESCRIBED", "SIZE_OR_FIT", "WRONG_ITEM", "OTHER"];

function returnPanel(order) {
  const rows = order.returnableLines.map((r) => ({
    line: r,
    quantity: h("input", { type: "number", min: 0, max: r.quantity, value: 0, "aria-label": `Units of ${r.orderLine.sku.name} to return` }),
    reason: h("select", {}, REASONS.map((reason) => h("option", { value: reason }, words(reason)))),
  }));
  const note = h("input", { type: "text", placeholder: "Anything we should know? (optional)", maxlength: 500 });
  const send = async () => {
    const lines = rows
      .filter((r) => Number(r.quantity.value) > 0)
      .map((r) => ({ orderLineId: r.line.orderLine.id, quantity: Number(r.quantity.value), reason: r.reason.value }));
    if (!lines.length) return toast("Choose at least one unit to return.");
    try {
      const payload = await session.mutate(
        `mutation PortalReturn($input: RequestReturnInput!) { requestReturn(input: $input) { return { number status } userErrors { code field message } } }`,
        { input: { orderId: order.id, lines, customerNote: note.value || null } },
        "requestReturn",
      );
      state.open.set(order.id, null);
      toast(`Return ${payload.return.number} requested.`);
      await refreshOrder(order.id);
    } catch (error) {
      reportError(error);
    }
  };
  return h(
    "div",
    { class: "panel return-panel" },
    rows.map((r) =>
      h("div", { class: "row" }, r.quantity, `of ${r.line.quantity} × ${r.line.orderLine.sku.name}`, r.reason, h("span", { class: "muted" }, `until ${r.line.returnableUntil}`)),
    ),
    note,
    h("div", { class: "actions" }, h("button", { class: "primary", onclick: send }, "Request return")),
  );
}

/**
 * Buying the same lines again asks how to pay: a card is never kept, so the payment
 * provider's token comes anew (the built-in `test` provider takes `tok_visa`), or the
 * order waits for a bank transfer (`manual`).
 */
function reorderPanel(order) {
  const method = h(
    "select",
    { class: "pay-with", "aria-label": "Pay with" },
    h("option", { value: "test" }, "Card"),
    h("option", { value: "manual" }, "Bank transfer (pay later)"),
  );
  const token = h("input", { class: "card-token", value: "tok_visa", size: 16, "aria-label": "Card token from the payment provider" });
  method.addEventListener("change", () => {
    token.hidden = method.value !== "test";
  });
  const place = async () => {
    const payment = method.value === "test" ? { provider: "test", token: token.value.trim() } : { provider: "manual" };
    try {
      const payload = await session.mutate(
        `mutation PortalReorder($input: ReorderInput!) { reorder(input: $input) { order { ...PortalOrder } userErrors { code field message } } } ${ORDER_FIELDS}`,
        { input: { orderId: order.id, payment, idempotencyKey: `portal-${order.id}-${Date.now()}` } },
        "reorder",
      );
      state.open.set(order.id, null);
      replaceOrder(payload.order);
      toast(`Ordered again: ${payload.order.number}.`);
    } catch (error) {
      reportError(error);
    }
  };
  return h(
    "div",
    { class: "panel reorder-panel" },
    h("div", { class: "row" }, "Same items, same address. Pay with", method, token),
    h("div", { class: "actions" }, h("button", { class: "primary", onclick: place }, "Place order")),
  );
}

function replaceOrder(order) {
  const index = state.orders.findIndex((o) => o.id === order.id);
  if (index >= 0) state.orders[index] = order;
  else state.orders.unshift(order);
  render();
  document.getElementById(`order-${order.number.replace("#", "")}`)?.classList.add("flash");
}

/** Fetches one order again (after a live event): one request at a time per order, and one more if it changed meanwhile. */
const pending = new Map();
// Orders that changed again while their refresh was in flight: that refresh may have read
// the order before the change, so one more follows it.
const stale = new Set();
function refreshOrder(id) {
  if (pending.has(id)) {
    stale.add(id);
    return pending.get(id);
  }
  const refresh = session
    .request(ORDER, { id })
    .then((data) => data.order && replaceOrder(data.order))
    .catch(reportError)
    .finally(() => {
      pending.delete(id);
      if (stale.delete(id)) refreshOrder(id);
    });
  pending.set(id, refresh);
  return refresh;
}

// ---- Profile and notes --------------------------------------------------------------

function profileTab() {
  const me = state.me;
  const field = (label, input) => h("div", {}, h("label", {}, label), input);
  const name = h("input", { value: me.name, maxlength: 200 });
  const phone = h("input", { value: me.phone ?? "", placeholder: "+1 415 555 0100" });
  const zone = h("input", { value: me.timeZone });
  const byEmail = h("input", { type: "checkbox", checked: me.notifyByEmail });
  const bySms = h("input", { type: "checkbox", checked: me.notifyBySms });
  const save = async () => {
    try {
      const payload = await session.mutate(
        `mutation PortalProfile($input: UpdateCustomerInput!) {
          updateCustomer(input: $input) { customer { name phone timeZone notifyByEmail notifyBySms version } userErrors { code field message } }
        }`,
        { input: { name: name.value, phone: phone.value || null, timeZone: zone.value, notifyByEmail: byEmail.checked, notifyBySms: bySms.checked } },
        "updateCustomer",
      );
      Object.assign(state.me, payload.customer);
      toast("Profile saved.");
      render();
    } catch (error) {
      reportError(error);
    }
  };
  return h(
    "section",
    { class: "card profile" },
    h("h2", {}, me.name),
    h("p", { class: "muted" }, me.email),
    field("Name", name),
    field("Phone", phone),
    field("Time zone (delivery dates are shown in it)", zone),
    h("label", {}, byEmail, " E-mail me about my orders"),
    h("label", {}, bySms, " Text me about deliveries"),
    h("div", { class: "actions" }, h("button", { class: "primary", onclick: save }, "Save profile")),
    h("h3", {}, "Addresses"),
    me.addresses.length
      ? h(
          "ul",
          {},
          me.addresses.map((a) =>
            h(
              "li",
              {},
              a.label ? h("strong", {}, `${a.label}: `) : null,
              [a.address.line1, a.address.line2, a.address.city, a.address.region, a.address.postalCode, a.address.country].filter(Boolean).join(", "),
              a.isDefault ? h("span", { class: "badge" }, "default") : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, "No saved addresses."),
  );
}

function notesTab() {
  const withNotes = state.orders.filter((o) => o.notes.length);
  const order = h("select", { "aria-label": "Order" }, state.orders.map((o) => h("option", { value: o.id }, `Order ${o.number}`)));
  const body = h("textarea", { rows: 3, maxlength: 2000, placeholder: "A note for the team handling this order" });
  const add = async () => {
    if (!body.value.trim()) return toast("Write a note first.");
    try {
      await session.mutate(
        `mutation PortalNote($input: AddOrderNoteInput!) { addOrderNote(input: $input) { note { id } userErrors { code field message } } }`,
        { input: { orderId: order.value, body: body.value, visibility: "CUSTOMER" } },
        "addOrderNote",
      );
      toast("Note added.");
      await refreshOrder(order.value);
    } catch (error) {
      reportError(error);
    }
  };
  return h(
    "section",
    {},
    h("div", { class: "card" }, h("h3", {}, "Add a note"), order, body, h("div", { class: "actions" }, h("button", { class: "primary", onclick: add }, "Add note"))),
    withNotes.length
      ? withNotes.map((o) =>
          h(
            "div",
            { class: "card notes" },
            h("h3", {}, `Order ${o.number}`),
            h("ul", { class: "timeline" }, o.notes.map((n) => h("li", {}, n.body, " ", h("span", { class: "muted" }, `— ${n.author}, ${when(n.createdAt)}`)))),
          ),
        )
      : h("p", { class: "muted" }, "No notes yet."),
  );
}

// ---- Page ---------------------------------------------------------------------------

function render() {
  if (!session.signedIn) return;
  const tab = (id, label) =>
    h("button", { role: "tab", id: `tab-${id}`, "aria-selected": String(state.tab === id), onclick: () => { state.tab = id; render(); } }, label);
  const body =
    state.tab === "profile"
      ? profileTab()
      : state.tab === "notes"
        ? notesTab()
        : state.orders.length
          ? [state.orders.map(orderCard), state.more && h("button", { id: "older", onclick: showOlder }, "Show older orders")]
          : h("p", { class: "muted" }, "No orders yet.");
  app.replaceChildren(h("nav", { class: "tabs", role: "tablist" }, tab("profile", "Profile"), tab("orders", "Orders"), tab("notes", "Notes")), ...[body].flat(Infinity).filter(Boolean));
}

function showWho() {
  const who = document.getElementById("who");
  who.replaceChildren(
    session.signedIn
      ? h("span", {}, state.me?.name ?? session.name, " ", h("button", { onclick: () => { session.signOut(); start(); } }, "Sign out"))
      : "",
  );
}

async function start() {
  showWho();
  if (!session.signedIn) {
    app.replaceChildren(
      signInForm(session, {
        role: "customer",
        title: "Sign in to see your orders",
        hint: "Or paste a customer token (orderly token --role customer --customer <ID>):",
        onSignedIn: start,
      }),
    );
    return;
  }
  try {
    const data = await session.request(ME);
    if (!data.me) throw new ApiError("This token is not a customer's: use the console for staff.", "FORBIDDEN");
    state.me = data.me;
    state.orders = data.me.orders.nodes;
    state.more = data.me.orders.pageInfo.hasNextPage ? data.me.orders.pageInfo.endCursor : null;
    showWho();
    render();
    session.subscribe(
      `subscription PortalOrders { customerOrderUpdates { type message order { id number } } }`,
      {},
      ({ customerOrderUpdates: e }) => {
        toast(`Order ${e.order.number}: ${e.message ?? words(e.type)}`);
        refreshOrder(e.order.id);
      },
    );
    session.subscribe(
      `subscription PortalDeliveries { deliveryUpdates { label status order { id } } }`,
      {},
      ({ deliveryUpdates: u }) => refreshOrder(u.order.id),
    );
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") session.signOut();
    reportError(error);
    if (!session.signedIn) start();
  }
}

start();
