// Mounts GraphiQL with Jeto's example operations. Every asset comes from this server: no CDN.
(function () {
  const config = JSON.parse(document.getElementById("jeto-config").textContent);
  const url = new URL(config.path, window.location.href).toString();
  const subscriptionUrl = url.replace(/^http/, "ws");

  // The websocket carries the token in connection_init, so take it from the headers being sent.
  function fetcher(params, opts) {
    const headers = Object.assign({}, opts && opts.headers);
    const authorization = headers.Authorization || headers.authorization;
    return GraphiQL.createFetcher({
      url,
      subscriptionUrl,
      wsConnectionParams: authorization ? { Authorization: authorization } : {},
    })(params, opts);
  }

  // `jeto serve --demo` prints the address with the token in its fragment: browsers never send a fragment
  // to the server, so the token stays between the terminal and this page.
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  const headers = token ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2) : "";
  const tabs = config.examples.map((example) => ({
    query: example.query,
    variables: example.variables ? JSON.stringify(example.variables, null, 2) : undefined,
    headers,
  }));

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultTabs: tabs,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
      // The Explorer (the folder icon in the sidebar): build a query by ticking fields.
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    })
  );
})();
