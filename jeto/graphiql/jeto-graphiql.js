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

  const headers = config.token ? JSON.stringify({ Authorization: "Bearer " + config.token }, null, 2) : "";
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
    })
  );
})();
