// The staff console: orders with filters and search and each order's timeline, a
// location's fulfilment queue kept live over `fulfillmentQueue` with pick, pack and ship
// buttons, and inventory with stock badges kept live over `inventoryChanged`.

import { ApiError, Session, day, h, money, reportError, signInForm, toast, when, words } from "./orderly.js";

const session = new Session("console");
const app = document.getElementById("app");

const STATUSES = ["PENDING_PAYMENT", "CONFIRMED", "IN_PROGRESS", "PARTIALLY_SHIPPED", "SHIPPED", "PARTIALLY_DELIVERED", "DELIVERED", "CANCELLED"];
const QUEUE = ["OPEN", "PICKING", "PACKED"];

const state = {
  tab: "orders",
  filter: { status: "", query: "" },
  orders: [],
  selected: null,
  detail: null,
  locations: [],
  location: null,
  queue: [],
  skus: [],
  stop: { queue: null, stock: null },
};

const ORDERS = `
  query ConsoleOrders($filter: OrderFilter) {
    orders(first: 50, filter: $filter) {
      nodes { id number status channel placedAt total { amount currencyCode } customer { name } }
    }
  }`;

const DETAIL = `
  query ConsoleOrder($id: ID!) {
    order(id: $id) {
      id number status paymentStatus channel placedAt version
      customer { name email }
      total { amount currencyCode } totalRefunded { amount currencyCode }
      lines { quantity quantityCancelled quantityFulfilled sku { code name } }
      fulfillmentOrders { id status version deliveryLabel carrier trackingNumber location { code } }
      events(first: 200) { sequence type message occurredAt }
      notes { id body author visibility createdAt }
      payments { provider status amountAuthorized { amount currencyCode } amountCaptured { amount currencyCode } amountRefunded { amount currencyCode } }
      returns { number status lines { quantity reason orderLine { sku { name } } } }
      refunds { amount { amount currencyCode } status reason createdAt }
    }
  }`;

const FO_FIELDS = `id status version deliveryLabel order { id number customer { name } } lines { quantity sku { code name } }`;

// ---- Orders -------------------------------------------------------------------------

async function loadOrders() {
  const filter = {};
  if (state.filter.status) filter.status = [state.filter.status];
  if (state.filter.query.trim()) filter.query = state.filter.query.trim();
  const data = await session.request(ORDERS, { filter });
  state.orders = data.orders.nodes;
}

async function selectOrder(id) {
  state.selected = id;
  const data = await session.request(DETAIL, { id });
  state.detail = data.order;
  render();
}

function ordersTab() {
  const status = h("select", { id: "status-filter", "aria-label": "Status" }, h("option", { value: "" }, "Any status"), STATUSES.map((s) => h("option", { value: s, selected: state.filter.status === s }, words(s))));
  const query = h("input", { id: "search", type: "search", placeholder: "Number, customer name or e-mail", value: state.filter.query });
  const apply = async () => {
    state.filter = { status: status.value, query: query.value };
    try {
      await loadOrders();
      render();
    } catch (error) {
      reportError(error);
    }
  };
  status.addEventListener("change", apply);
  query.addEventListener("keydown", (e) => e.key === "Enter" && apply());
  const table = h(
    "table",
    { class: "orders" },
    h("thead", {}, h("tr", {}, ["Order", "Customer", "Status", "Channel", "Total", "Placed"].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      state.orders.map((o) =>
        h(
          "tr",
          { class: `clickable ${o.id === state.selected ? "selected" : ""}`, dataset: { number: o.number }, onclick: () => selectOrder(o.id).catch(reportError) },
          h("td", {}, o.number),
          h("td", {}, o.customer.name),
          h("td", {}, words(o.status)),
          h("td", {}, o.channel),
          h("td", {}, money(o.total)),
          h("td", { title: when(o.placedAt) }, day(o.placedAt)),
        ),
      ),
    ),
  );
  return h(
    "div",
    { class: "split" },
    h("section", { class: "card" }, h("div", { class: "row" }, status, query, h("button", { onclick: apply }, "Search")), table),
    h("section", { class: "card detail" }, state.detail ? orderDetail(state.detail) : h("p", { class: "muted" }, "Pick an order to see its timeline.")),
  );
}

function orderDetail(o) {
  const note = h("textarea", { rows: 2, maxlength: 2000, placeholder: "Internal note" });
  const addNote = async () => {
    if (!note.value.trim()) return;
    try {
      await session.mutate(
        `mutation ConsoleNote($input: AddOrderNoteInput!) { addOrderNote(input: $input) { note { id } userErrors { code field message } } }`,
        { input: { orderId: o.id, body: note.value, visibility: "INTERNAL" } },
        "addOrderNote",
      );
      await selectOrder(o.id);
    } catch (error) {
      reportError(error);
    }
  };
  return h(
    "div",
    {},
    h("h2", {}, `Order ${o.number} `, h("span", { class: "badge" }, words(o.status))),
    h("p", {}, `${o.customer.name} · ${o.customer.email} · ${o.channel} · ${money(o.total)} · payment ${words(o.paymentStatus)}`),
    h("h3", {}, "Lines"),
    h("ul", {}, o.lines.map((l) => h("li", {}, `${l.quantity} × ${l.sku.name} (${l.sku.code}) — ${l.quantityFulfilled} shipped, ${l.quantityCancelled} cancelled`))),
    h("h3", {}, "Fulfilment"),
    h("ul", {}, o.fulfillmentOrders.map((f) => h("li", {}, `${f.location.code}: ${words(f.status)} — ${f.deliveryLabel}`, f.trackingNumber ? ` (${f.carrier} ${f.trackingNumber})` : "", " ", foActions(f, () => selectOrder(o.id))))),
    h("h3", {}, "Payments"),
    h("ul", {}, o.payments.map((p) => h("li", {}, `${p.provider}: ${words(p.status)} — authorised ${money(p.amountAuthorized)}, captured ${money(p.amountCaptured)}, refunded ${money(p.amountRefunded)}`))),
    o.returns.length > 0 && [h("h3", {}, "Returns"), h("ul", {}, o.returns.map((r) => h("li", {}, `${r.number}: ${words(r.status)} — ${r.lines.map((l) => `${l.quantity} × ${l.orderLine.sku.name} (${words(l.reason)})`).join(", ")}`)))],
    o.refunds.length > 0 && [h("h3", {}, "Refunds"), h("ul", {}, o.refunds.map((r) => h("li", {}, `${money(r.amount)} ${words(r.status)} ${r.reason ?? ""} — ${when(r.createdAt)}`)))],
    h("h3", {}, "Notes"),
    h("ul", { class: "timeline" }, o.notes.map((n) => h("li", {}, h("span", { class: "badge" }, words(n.visibility)), ` ${n.body} `, h("span", { class: "muted" }, `— ${n.author}, ${when(n.createdAt)}`)))),
    note,
    h("div", { class: "actions" }, h("button", { onclick: addNote }, "Add internal note")),
    h("h3", {}, "Timeline"),
    h("ul", { class: "timeline events" }, [...o.events].reverse().map((e) => h("li", {}, h("strong", {}, `#${e.sequence} ${words(e.type)}`), ` ${e.message ?? ""} `, h("span", { class: "muted" }, when(e.occurredAt))))),
  );
}

// ---- Fulfilment ---------------------------------------------------------------------

/** The next step's button for a fulfilment order; `after` runs once the step is done. */
function foActions(f, after) {
  const step = (mutation, label) =>
    h(
      "button",
      {
        class: `step ${mutation}`,
        onclick: async () => {
          try {
            await session.mutate(
              `mutation ConsoleStep($input: FulfillmentOrderInput!) { ${mutation}(input: $input) { fulfillmentOrder { id status } userErrors { code field message } } }`,
              { input: { fulfillmentOrderId: f.id, expectedVersion: f.version } },
              mutation,
            );
            await after();
          } catch (error) {
            reportError(error);
          }
        },
      },
      label,
    );
  if (f.status === "OPEN") return step("startPicking", "Start picking");
  if (f.status === "PICKING") return step("markPacked", "Mark packed");
  if (f.status !== "PACKED") return null;
  const carrier = h("input", { class: "carrier", value: "UPS", size: 6, "aria-label": "Carrier" });
  const tracking = h("input", { class: "tracking", placeholder: "Tracking number", size: 14, "aria-label": "Tracking number" });
  const ship = async () => {
    if (!tracking.value.trim()) return toast("Enter the tracking number.");
    try {
      await session.mutate(
        `mutation ConsoleShip($input: ShipFulfillmentOrderInput!) { shipFulfillmentOrder(input: $input) { fulfillmentOrder { id status } userErrors { code field message } } }`,
        { input: { fulfillmentOrderId: f.id, expectedVersion: f.version, carrier: carrier.value, trackingNumber: tracking.value.trim() } },
        "shipFulfillmentOrder",
      );
      toast(`Shipped ${f.order?.number ?? ""}.`);
      await after();
    } catch (error) {
      reportError(error);
    }
  };
  return h("span", { class: "row" }, carrier, tracking, h("button", { class: "step ship primary", onclick: ship }, "Ship"));
}

async function watchQueue(locationId) {
  state.stop.queue?.();
  state.location = locationId;
  const data = await session.request(
    `query ConsoleQueue($location: ID!) { fulfillmentOrders(locationId: $location, status: [OPEN, PICKING, PACKED], first: 100) { nodes { ${FO_FIELDS} } } }`,
    { location: locationId },
  );
  state.queue = data.fulfillmentOrders.nodes;
  state.stop.queue = session.subscribe(
    `subscription ConsoleQueueLive($location: ID!) { fulfillmentQueue(locationId: $location) { ${FO_FIELDS} } }`,
    { location: locationId },
    ({ fulfillmentQueue: f }) => {
      const index = state.queue.findIndex((q) => q.id === f.id);
      if (!QUEUE.includes(f.status)) {
        if (index >= 0) state.queue.splice(index, 1);
      } else if (index >= 0) state.queue[index] = f;
      else state.queue.push(f);
      if (state.tab === "fulfilment") render();
    },
  );
}

function fulfilmentTab() {
  const location = h(
    "select",
    { id: "location", "aria-label": "Location", onchange: (e) => watchQueue(e.target.value).then(render, reportError) },
    state.locations.map((l) => h("option", { value: l.id, selected: l.id === state.location }, `${l.name} (${l.code})`)),
  );
  return h(
    "section",
    { class: "card" },
    h("div", { class: "row" }, h("strong", {}, "Fulfilment queue of"), location, h("span", { class: "muted" }, `${state.queue.length} to do`)),
    h(
      "table",
      { class: "queue" },
      h("thead", {}, h("tr", {}, ["Order", "Customer", "Items", "Status", ""].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        state.queue.map((f) =>
          h(
            "tr",
            { dataset: { number: f.order.number } },
            h("td", {}, f.order.number),
            h("td", {}, f.order.customer.name),
            h("td", {}, f.lines.map((l) => `${l.quantity} × ${l.sku.code}`).join(", ")),
            h("td", {}, words(f.status)),
            h("td", {}, foActions(f, () => watchQueue(state.location).then(render))),
          ),
        ),
      ),
    ),
  );
}

// ---- Inventory ----------------------------------------------------------------------

const SKU_FIELDS = `code name available inventoryLevels { location { code } onHand reserved available }`;

function stockBadge(available) {
  if (available <= 0) return h("span", { class: "badge out" }, "Out of stock");
  if (available < 10) return h("span", { class: "badge low" }, `Low: ${available}`);
  return h("span", { class: "badge live" }, `${available} available`);
}

async function watchStock() {
  if (state.stop.stock) return;
  const data = await session.request(`query ConsoleSkus { skus(first: 50) { nodes { ${SKU_FIELDS} } } }`);
  state.skus = data.skus.nodes;
  if (!state.skus.length) return;
  state.stop.stock = session.subscribe(
    `subscription ConsoleStock($codes: [String!]!) { inventoryChanged(skuCodes: $codes) { ${SKU_FIELDS} } }`,
    { codes: state.skus.map((s) => s.code) },
    ({ inventoryChanged: sku }) => {
      const index = state.skus.findIndex((s) => s.code === sku.code);
      const changed = index >= 0 && state.skus[index].available !== sku.available;
      if (index >= 0) state.skus[index] = sku;
      if (state.tab === "inventory") {
        render();
        if (changed) document.querySelector(`tr[data-code="${sku.code}"]`)?.classList.add("flash");
      }
    },
  );
}

function inventoryTab() {
  const codes = [...new Set(state.skus.flatMap((s) => s.inventoryLevels.map((l) => l.location.code)))].sort();
  return h(
    "section",
    { class: "card" },
    h(
      "table",
      { class: "inventory" },
      h("thead", {}, h("tr", {}, h("th", {}, "SKU"), h("th", {}, "Name"), h("th", {}, "Stock"), codes.map((c) => h("th", {}, `${c} on hand / reserved`)))),
      h(
        "tbody",
        {},
        state.skus.map((s) =>
          h(
            "tr",
            { dataset: { code: s.code } },
            h("td", {}, s.code),
            h("td", {}, s.name),
            h("td", { class: "stock" }, stockBadge(s.available)),
            codes.map((c) => {
              const level = s.inventoryLevels.find((l) => l.location.code === c);
              return h("td", {}, level ? `${level.onHand} / ${level.reserved}` : "—");
            }),
          ),
        ),
      ),
    ),
  );
}

// ---- Page ---------------------------------------------------------------------------

function render() {
  const tab = (id, label) =>
    h(
      "button",
      {
        role: "tab",
        id: `tab-${id}`,
        "aria-selected": String(state.tab === id),
        onclick: async () => {
          state.tab = id;
          try {
            if (id === "inventory") await watchStock();
          } catch (error) {
            reportError(error);
          }
          render();
        },
      },
      label,
    );
  const body = state.tab === "fulfilment" ? fulfilmentTab() : state.tab === "inventory" ? inventoryTab() : ordersTab();
  app.replaceChildren(h("nav", { class: "tabs", role: "tablist" }, tab("orders", "Orders"), tab("fulfilment", "Fulfilment"), tab("inventory", "Inventory")), body);
}

function showWho() {
  document.getElementById("who").replaceChildren(
    session.signedIn ? h("span", {}, session.name || "Staff", " ", h("button", { onclick: () => { session.signOut(); location.reload(); } }, "Sign out")) : "",
  );
}

async function start() {
  showWho();
  if (!session.signedIn) {
    app.replaceChildren(
      signInForm(session, {
        role: "staff",
        title: "Staff sign-in",
        hint: "Or paste a staff token (orderly token --role staff):",
        onSignedIn: start,
      }),
    );
    return;
  }
  try {
    const data = await session.request(`query ConsoleLocations { locations { id code name } }`);
    state.locations = data.locations;
    await loadOrders();
    if (state.locations.length) await watchQueue(state.locations[0].id);
    showWho();
    render();
  } catch (error) {
    if (error.code === "UNAUTHENTICATED" || error.code === "FORBIDDEN") {
      session.signOut();
      reportError(new ApiError(`${error.message}: sign in as staff.`, error.code));
      return start();
    }
    reportError(error);
  }
}

start();
