// The local page of `planner explore`: a model like the Jupyter widget's, backed by the
// local server (127.0.0.1 only; every request carries the page's token).
import explorer from "./explorer.js";

const token = document.querySelector('meta[name="planner-token"]').content;

async function call(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "X-Planner-Token": token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.text();
}

function model(values) {
  const listeners = {};
  return {
    get: (name) => values[name],
    set(name, value) {
      values[name] = value;
      for (const f of listeners[`change:${name}`] || []) f();
    },
    on(event, f) { (listeners[event] = listeners[event] || []).push(f); },
    send(msg) {
      call("/api/message", msg)
        .then((text) => this.set("state", text))
        .catch((err) => {
          const state = JSON.parse(values.state);
          state.message = { kind: "error", text: `the local server did not answer (${err.message}); nothing changed.` };
          this.set("state", JSON.stringify(state));
        });
    },
  };
}

const [setup, state] = await Promise.all([call("/api/setup"), call("/api/state")]);
explorer.render({ model: model({ setup, state }), el: document.getElementById("planner-explorer") });
window.plannerReady = true;
