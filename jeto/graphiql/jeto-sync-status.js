// <jeto-sync-status>: every Marketo instance of the signed-in account with its sync status, live.
//
// An example to copy, or an element to embed: load graphql-ws's UMD build (the global `graphqlWs`) and this
// file, then put <jeto-sync-status url="wss://jeto.example/graphql" token="…"></jeto-sync-status> in a page.
// Without `url` it uses this page's server; without `token`, the `#token=…` of this page's address, as Jeto's
// GraphiQL does (a fragment never reaches a server). It fires `jeto-sync-status-change` with each payload.
//
// It asks once for the integrations (name, vendor, connection), then follows the accountSyncStatus
// subscription, whose first payloads are each integration's current status. Both go over one websocket
// (graphql-transport-ws), which graphql-ws reopens, subscription included, when the connection drops.
(function () {
  const STATUS_FIELDS = `id platformIntegrationId state startedAt finishedAt lastSucceededAt
    foldersSynced programsSynced error nextAttemptAt`;
  const INTEGRATIONS = `query JetoSyncStatusIntegrations {
    account { platformIntegrations { id name vendor connectionStatus syncStatus { ${STATUS_FIELDS} } } }
  }`;
  const CHANGES = `subscription JetoSyncStatusChanges { accountSyncStatus { ${STATUS_FIELDS} } }`;

  const STATES = {
    NEVER_SYNCED: { label: "Never synced", icon: "–" },
    QUEUED: { label: "Queued", icon: "" },
    SYNCING: { label: "Syncing", icon: "" },
    COMPLETED: { label: "Completed", icon: "✓" },
    ERROR: { label: "Error", icon: "!" },
  };
  const BUSY = new Set(["QUEUED", "SYNCING"]);
  const CONNECTIONS = {
    UNTESTED: "Connection not tested yet",
    CONNECTED: "Connected",
    INVALID_CREDENTIALS: "Credentials rejected",
    UNREACHABLE: "Unreachable",
  };
  const VENDORS = { MARKETO: "Marketo" };
  const UNAUTHENTICATED = 4403; // graphql-transport-ws: connection_init carried no valid token

  const STYLE = `
    :host { display: block; font: 14px/1.4 system-ui, sans-serif; color: #1d2330; }
    .line { margin: 0 0 12px; color: #5b6474; }
    .line[data-live="false"] { color: #a33; }
    ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 12px;
         grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
    li { border: 1px solid #d8dce3; border-radius: 8px; padding: 12px 14px; background: #fff; }
    header { display: flex; align-items: baseline; gap: 8px; }
    .vendor { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #5c4ee5;
              border: 1px solid #c9c3f7; border-radius: 4px; padding: 0 4px; }
    .name { font-weight: 600; font-size: 15px; }
    .connection { color: #5b6474; margin: 2px 0 8px; }
    .connection[data-connection="INVALID_CREDENTIALS"], .connection[data-connection="UNREACHABLE"] { color: #a33; }
    .state { display: flex; align-items: center; gap: 6px; font-weight: 600; }
    .icon { width: 16px; height: 16px; display: inline-flex; align-items: center; justify-content: center; }
    li[data-state="COMPLETED"] .icon { color: #1f8a4c; }
    li[data-state="ERROR"] .icon { color: #fff; background: #c0392b; border-radius: 50%; font-size: 11px; }
    li[data-busy="true"] .icon { border: 2px solid #c9cfd9; border-top-color: #5c4ee5; border-radius: 50%;
                                 width: 12px; height: 12px; animation: spin .8s linear infinite; }
    @keyframes spin { to { transform: rotate(360deg); } }
    .counts, .last { color: #3a4150; margin-top: 4px; }
    .error { color: #a33; margin-top: 6px; }
  `;

  function defaultUrl() {
    return new URL("/graphql", window.location.href).toString().replace(/^http/, "ws");
  }

  function tokenInAddress() {
    return new URLSearchParams(window.location.hash.slice(1)).get("token");
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : null;
  }

  function plural(count, one, many) {
    return `${count.toLocaleString()} ${count === 1 ? one : many}`;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // never innerHTML: names are the users' own text
    return node;
  }

  class JetoSyncStatus extends HTMLElement {
    static get observedAttributes() {
      return ["url", "token"];
    }

    constructor() {
      super();
      this.integrations = new Map(); // platform integration id → { name, vendor, connectionStatus, status }
      this.root = this.attachShadow({ mode: "open" });
      const style = element("style");
      style.textContent = STYLE;
      this.line = element("p", "line", "Connecting…");
      this.list = element("ul");
      this.root.append(style, this.line, this.list);
    }

    get token() {
      return this._token || this.getAttribute("token") || tokenInAddress();
    }

    set token(value) {
      this._token = value;
      if (this.isConnected) this.restart();
    }

    connectedCallback() {
      this.restart();
    }

    disconnectedCallback() {
      this.stop();
    }

    attributeChangedCallback() {
      if (this.isConnected) this.restart();
    }

    stop() {
      if (this.client) this.client.dispose();
      this.client = null;
    }

    restart() {
      this.stop();
      const token = this.token;
      if (!token) {
        this.showLine("Not signed in: open this page with #token=<a Jeto token> at the end of its address.", false);
        return;
      }
      this.client = graphqlWs.createClient({
        url: this.getAttribute("url") || defaultUrl(),
        connectionParams: { Authorization: `Bearer ${token}` },
        retryAttempts: Infinity,
        shouldRetry: (event) => !(event && event.code === UNAUTHENTICATED),
        on: {
          connected: () => {
            this.showLine("Live", true);
            this.refresh();
          },
          closed: (event) => {
            const refused = event && event.code === UNAUTHENTICATED;
            this.showLine(refused ? `Not signed in: ${event.reason || "the token was refused"}.` : "Reconnecting…", false);
          },
        },
      });
      this.client.subscribe({ query: CHANGES }, {
        next: (result) => this.received(result),
        error: (error) => this.showLine(`The subscription failed: ${describe(error)}`, false),
        complete: () => {},
      });
    }

    // Names, vendors and connection statuses: at start, for an integration not seen yet, and after a sync
    // ends (it tests the connection).
    refresh() {
      if (!this.client) return;
      if (this.refreshing) {
        this.again = true; // what the query in flight answers may predate what asked for this one
        return;
      }
      this.refreshing = true;
      this.again = false;
      let fresh = null;
      this.client.subscribe({ query: INTEGRATIONS }, {
        next: (result) => {
          fresh = result.data && result.data.account.platformIntegrations;
        },
        error: () => {
          this.refreshing = false;
        },
        complete: () => {
          this.refreshing = false;
          if (this.again) this.refresh();
          if (!fresh) return;
          const known = new Map();
          for (const pi of fresh) {
            const previous = this.integrations.get(pi.id);
            known.set(pi.id, {
              name: pi.name,
              vendor: pi.vendor,
              connectionStatus: pi.connectionStatus,
              // A payload received meanwhile is as new as the query's answer, or newer.
              status: previous && previous.status ? previous.status : pi.syncStatus,
            });
          }
          this.integrations = known;
          this.render();
        },
      });
    }

    received(result) {
      if (result.errors) {
        this.showLine(`The subscription failed: ${result.errors[0].message}`, false);
        return;
      }
      const status = result.data.accountSyncStatus;
      const pi = this.integrations.get(status.platformIntegrationId);
      if (pi) {
        pi.status = status;
        this.render();
      }
      if (!pi || status.state === "COMPLETED" || status.state === "ERROR") this.refresh();
      this.dispatchEvent(new CustomEvent("jeto-sync-status-change", { detail: status, bubbles: true }));
    }

    showLine(text, live) {
      this.line.textContent = text;
      this.line.dataset.live = String(live);
    }

    render() {
      const cards = [];
      for (const [id, pi] of this.integrations) {
        const status = pi.status;
        const state = STATES[status.state] || { label: status.state, icon: "?" };
        const card = element("li");
        card.dataset.integrationId = id;
        card.dataset.state = status.state;
        card.dataset.busy = String(BUSY.has(status.state));

        const header = element("header");
        header.append(element("span", "vendor", VENDORS[pi.vendor] || pi.vendor), element("span", "name", pi.name));
        const connection = element("div", "connection", CONNECTIONS[pi.connectionStatus] || pi.connectionStatus);
        connection.dataset.connection = pi.connectionStatus;

        const line = element("div", "state");
        line.append(element("span", "icon", BUSY.has(status.state) ? "" : state.icon), element("span", "label", state.label));
        const counts = element(
          "div",
          "counts",
          `${plural(status.foldersSynced, "folder", "folders")} · ${plural(status.programsSynced, "program", "programs")}`
        );
        const last = element("div", "last", `Last sync: ${when(status.lastSucceededAt) || "never"}`);
        card.append(header, connection, line, counts, last);
        if (status.state === "ERROR" && status.error) {
          const next = when(status.nextAttemptAt);
          card.append(element("div", "error", next ? `${status.error} (next attempt ${next})` : status.error));
        }
        cards.push(card);
      }
      this.list.replaceChildren(...cards);
    }
  }

  function describe(error) {
    if (Array.isArray(error)) return error.map((e) => e.message).join("; ");
    if (error && error.reason) return error.reason;
    return (error && error.message) || String(error);
  }

  if (!customElements.get("jeto-sync-status")) customElements.define("jeto-sync-status", JetoSyncStatus);
})();
