// planner explorer: place stations by hand and see coverage change at once.
//
// One ES module for both front ends: the Jupyter widget (anywidget passes its model) and
// the local page of `planner explore` (main.js passes a model that talks to the local
// server). The model holds two JSON strings, "setup" (drawn once) and "state" (after each
// step); the page sends messages ({type: "add" | "remove" | "undo" | "save", ...}) and
// the answer arrives as a new "state". Leaflet is inlined below by planner (from the
// XStatic-Leaflet package): nothing is loaded from the network. Text from data is only
// ever set as text (textContent), never parsed as HTML.

const LEAFLET_JS = "__PLANNER_LEAFLET_JS__";
const STYLE = "__PLANNER_CSS__";

const COLOURS = { inside: "#2e7d32", outside: "#c62828", na: "#9e9e9e" };

function leaflet() {
  if (globalThis.L && globalThis.L.map && globalThis.L.plannerInline) return globalThis.L;
  const exports = {};
  const module = { exports };
  // Leaflet's UMD wrapper fills `exports` (and sets window.L)
  new Function("exports", "module", "define", LEAFLET_JS)(exports, module, undefined);
  const L = exports.map ? exports : module.exports;
  L.plannerInline = true;
  return L;
}

function injectStyle() {
  if (document.getElementById("planner-explorer-style")) return;
  const style = document.createElement("style");
  style.id = "planner-explorer-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
}

// An element with attributes and children (strings become text nodes).
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k in el && k !== "list") el[k] = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

const STATUS = { pass: ["达标", "pass"], fail: ["未达标", "fail"], "input missing": ["缺数据", "input missing"], "no units": ["无对象", "no units"] };

function pct(v) {
  return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%";
}

function render({ model, el }) {
  const L = leaflet();
  injectStyle();
  const setup = JSON.parse(model.get("setup"));
  let state = JSON.parse(model.get("state"));
  const zh = setup.lang !== "en";
  const t = (a, b) => (zh ? a : b);
  const circleName = (c) => (zh ? c.name_zh : c.name_en) || c.id;
  const serviceName = new Map(setup.services.map((s) => [s.id, (zh ? s.name_zh : s.name_en) || s.id]));
  let circle = setup.circles.length ? lowest(state, setup) : null;
  let community = setup.communities.length ? setup.communities[0] : null;
  let pending = 0;
  let nextId = 1;
  let addPopup = null;

  // --- layout ---
  const mapDiv = h("div", { class: "pe-map" });
  const side = h("div", { class: "pe-side" });
  el.replaceChildren(h("div", { class: "pe-root" }, mapDiv, side));
  el.classList.add("planner-explorer");
  const height = model.get("height");
  if (height) el.style.setProperty("--pe-height", `${height}px`);

  const message = h("div", { class: "pe-message", role: "status", id: "pe-message" });
  const circleSelect = h(
    "select",
    { id: "pe-circle", onchange: () => { circle = circleSelect.value; redraw(); } },
    setup.circles.map((c) => h("option", { value: c.id, text: circleName(c) }))
  );
  if (circle) circleSelect.value = circle;
  const coverage = h("tbody", { id: "pe-coverage" });
  const communitySelect = h(
    "select",
    { id: "pe-community", onchange: () => { community = communitySelect.value; drawCommunity(); } },
    setup.communities.map((c) => h("option", { value: c, text: c }))
  );
  const targets = h("tbody", { id: "pe-targets" });
  const stationList = h("ul", { class: "pe-stations", id: "pe-stations" });
  const removedNote = h("p", { class: "pe-removed", id: "pe-removed" });
  const undoButton = h("button", { id: "pe-undo", text: t("撤销", "Undo"), onclick: () => send({ type: "undo" }) });
  const variantName = h("input", { id: "pe-variant-name", placeholder: t("方案名称", "variant name") });
  const saveCommunity = h(
    "select",
    { id: "pe-save-community" },
    h("option", { value: "", text: t("（站点所在社区）", "(the stations' community)") }),
    setup.communities.map((c) => h("option", { value: c, text: c }))
  );
  const saveButton = h("button", {
    id: "pe-save",
    text: t("保存方案", "Save variant"),
    onclick: () => send({ type: "save", name: variantName.value, community: saveCommunity.value || null, circle }),
  });
  const compare = h("table", { class: "pe-compare", id: "pe-compare" });
  const timing = h("p", { class: "pe-timing", id: "pe-timing" });

  side.append(
    h("h3", { text: t("选址试算 What-if", "What-if siting") }),
    h("p", { class: "pe-hint", text: t("点击地图放置站点，点击站点或设施将其移除。", "Click the map to place a station; click a station or facility to remove it.") }),
    message,
    h("label", {}, t("生活圈 ", "Circle "), circleSelect),
    h("table", { class: "pe-table" },
      h("thead", {}, h("tr", {}, h("th", { text: t("生活圈", "circle") }), h("th", { text: t("现状", "base") }), h("th", { text: t("方案", "now") }))),
      coverage),
    setup.communities.length ? h("div", {},
      h("label", {}, t("社区 ", "Community "), communitySelect),
      h("table", { class: "pe-table" },
        h("thead", {}, h("tr", {}, h("th", { text: t("指标", "target") }), h("th", { text: t("现状", "base") }), h("th", { text: t("方案", "now") }))),
        targets)) : null,
    h("h4", { text: t("新增站点", "Stations placed") }),
    stationList,
    removedNote,
    h("div", { class: "pe-buttons" }, undoButton),
    h("h4", { text: t("方案", "Variants") }),
    h("div", { class: "pe-save" }, variantName, setup.communities.length ? saveCommunity : null, saveButton),
    compare,
    timing
  );

  // --- the map ---
  const map = L.map(mapDiv, { preferCanvas: true, attributionControl: false });
  const blocks = L.geoJSON(setup.blocks, {
    style: (f) => blockStyle(f),
    onEachFeature: (f, layer) => layer.bindTooltip(() => blockTip(f), { sticky: true }),
  }).addTo(map);
  if (blocks.getLayers().length) map.fitBounds(blocks.getBounds(), { padding: [10, 10] });
  else map.setView([0, 0], 2);
  const facilities = L.layerGroup().addTo(map);
  const stations = L.layerGroup().addTo(map);
  const facilityMarkers = new Map();
  for (const f of setup.facilities) {
    const m = L.circleMarker([f.lat, f.lon], { radius: 4, weight: 1, color: "#333", fillOpacity: 0.8, bubblingMouseEvents: false });
    m.bindPopup(() => facilityPopup(f));
    m.bindTooltip(() => h("span", {}, f.name ? `${f.name} · ${f.category_name}` : f.category_name));
    facilityMarkers.set(f.key, { marker: m, f });
  }
  const proposals = L.layerGroup().addTo(map);
  for (const p of setup.proposals || []) {
    const m = L.circleMarker([p.lat, p.lon], { radius: 8, weight: 2, color: "#e65100", fillColor: "#ffb74d", fillOpacity: 0.9, bubblingMouseEvents: false });
    m.bindTooltip(() => h("span", {}, `${t("推荐站点", "proposed site")} ${p.rank ?? ""} ${p.name || p.label}`));
    m.on("click", () => openAddForm(L.latLng(p.lat, p.lon), p.name || ""));
    proposals.addLayer(m);
  }
  map.on("click", (e) => openAddForm(e.latlng));
  globalThis.plannerExplorer = { map, L, blocks };

  function circleInfo() {
    return setup.circles.find((c) => c.id === circle);
  }

  function flag(i) {
    const f = state.flags[circle];
    return f ? f[i] : null;
  }

  function blockStyle(f) {
    const v = flag(f.properties.i);
    const colour = v === 1 ? COLOURS.inside : v === 0 ? COLOURS.outside : COLOURS.na;
    return { color: colour, weight: 1, fillColor: colour, fillOpacity: v === null ? 0.15 : 0.45 };
  }

  function blockTip(f) {
    const p = f.properties;
    const v = flag(p.i);
    const status = v === 1 ? t("圈内", "inside") : v === 0 ? t("圈外", "outside") : t("不适用", "n/a");
    return h("div", {},
      h("b", {}, p.name || p.label),
      h("br"),
      `${status} · ${t("人口", "population")} ${p.population ?? "—"}`,
      p.community ? h("span", {}, h("br"), p.community) : null);
  }

  function facilityPopup(f) {
    return h("div", { class: "pe-popup" },
      h("b", {}, f.name || f.category_name), h("br"), f.category_name, h("br"),
      h("button", { class: "pe-remove", "data-key": f.key, text: t("移除此设施", "Remove this facility"),
        onclick: () => { map.closePopup(); send({ type: "remove", key: f.key }); } }));
  }

  function stationPopup(s) {
    return h("div", { class: "pe-popup" },
      h("b", {}, s.name), h("br"),
      s.services.map((x) => serviceName.get(x) || x).join("、"), h("br"),
      h("button", { class: "pe-remove", "data-key": s.key, text: t("移除此站点", "Remove this station"),
        onclick: () => { map.closePopup(); send({ type: "remove", key: s.key }); } }));
  }

  function openAddForm(latlng, suggested = "") {
    const boxes = setup.services.map((s) =>
      h("label", { class: "pe-service" },
        h("input", { type: "checkbox", value: s.id, name: "service" }), " ", serviceName.get(s.id)));
    const name = h("input", { class: "pe-station-name", value: suggested, placeholder: t("站点名称（可选）", "station name (optional)") });
    const note = h("div", { class: "pe-form-message" });
    const form = h("div", { class: "pe-add", "data-lat": latlng.lat, "data-lon": latlng.lng },
      h("b", { text: t("在此放置站点", "Place a station here") }),
      name,
      h("div", { class: "pe-services" }, boxes),
      h("button", { class: "pe-add-button", text: t("添加站点", "Add station"), onclick: () => {
        const services = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
        send({ type: "add", lon: latlng.lng, lat: latlng.lat, services, name: name.value }, note);
      } }),
      note);
    addPopup = L.popup({ maxWidth: 320, closeOnClick: false }).setLatLng(latlng).setContent(form).openOn(map);
  }

  // --- talking to Python ---
  let formNote = null;
  function send(msg, note) {
    pending = nextId++;
    formNote = note || null;
    message.textContent = t("计算中…", "Updating…");
    message.className = "pe-message pe-busy";
    model.send({ ...msg, id: pending });
  }

  model.on("change:state", () => {
    state = JSON.parse(model.get("state"));
    const m = state.message;
    const ok = !m || m.kind !== "error";
    if (formNote && !ok) formNote.textContent = m.text;
    if (ok && addPopup && state.reply_to === pending && formNote) { map.closePopup(addPopup); addPopup = null; }
    formNote = null;
    redraw();
  });

  function redraw() {
    const m = state.message;
    message.textContent = m ? m.text : "";
    message.className = "pe-message" + (m ? (m.kind === "error" ? " pe-error" : " pe-ok") : "");
    blocks.setStyle((f) => blockStyle(f));
    drawCoverage();
    drawCommunity();
    drawFacilities();
    drawStations();
    drawCompare();
    undoButton.disabled = !state.can_undo;
    timing.textContent = state.ms ? t(`上次更新 ${state.ms} 毫秒`, `last update ${state.ms} ms`) : "";
    el.dataset.ready = "1";
  }

  function drawCoverage() {
    coverage.replaceChildren(...state.summary.map((r) => {
      const c = setup.circles.find((x) => x.id === r.circle);
      const changed = r.now !== r.base;
      return h("tr", { class: r.circle === circle ? "pe-selected" : "", onclick: () => { circle = r.circle; circleSelect.value = circle; redraw(); } },
        h("td", { text: c ? circleName(c) : r.circle, title: c ? c.how : "" }),
        h("td", { class: "pe-num", text: pct(r.base) }),
        h("td", { class: "pe-num pe-now" + (changed ? " pe-changed" : ""), "data-circle": r.circle, "data-value": String(r.now), text: pct(r.now) }));
    }));
  }

  function drawCommunity() {
    if (!community) return;
    const entry = state.communities[community] || { circles: {}, targets: {} };
    const rows = [];
    for (const c of setup.circles) {
      const v = entry.circles[c.id];
      if (!v) continue;
      rows.push(h("tr", {}, h("td", { text: circleName(c) }), h("td", { class: "pe-num", text: pct(v.base) }),
        h("td", { class: "pe-num" + (v.now !== v.base ? " pe-changed" : ""), text: pct(v.now) })));
    }
    const word = (s) => (STATUS[s] ? STATUS[s][zh ? 0 : 1] : s || "—");
    const cls = (s) => "pe-status pe-" + String(s || "").replace(/[^a-z]+/g, "-");
    for (const [tid, v] of Object.entries(entry.targets)) {
      rows.push(h("tr", { "data-target": tid }, h("td", { text: v.name }), h("td", { class: cls(v.base), text: word(v.base) }),
        h("td", { class: cls(v.now) + (v.now !== v.base ? " pe-changed" : ""), "data-status": v.now || "", text: word(v.now) })));
    }
    targets.replaceChildren(...rows);
  }

  function drawFacilities() {
    const removed = new Set(state.removed);
    const c = circleInfo();
    facilities.clearLayers();
    for (const [key, { marker, f }] of facilityMarkers) {
      if (removed.has(key)) continue;
      const used = c && (c.categories || []).includes(f.category);
      marker.setStyle({ radius: used ? 5 : 3, fillColor: used ? "#1565c0" : "#bbb", color: used ? "#0d47a1" : "#888" });
      facilities.addLayer(marker);
    }
    const names = state.removed.length ? t(`已移除 ${state.removed.length} 个设施`, `${state.removed.length} facilities removed`) : "";
    removedNote.textContent = names;
  }

  function drawStations() {
    stations.clearLayers();
    stationList.replaceChildren(...state.stations.map((s) => {
      const m = L.circleMarker([s.lat, s.lon], { radius: 9, weight: 3, color: "#fff", fillColor: "#6a1b9a", fillOpacity: 1, bubblingMouseEvents: false });
      m.bindPopup(() => stationPopup(s));
      m.bindTooltip(() => h("span", {}, s.name));
      stations.addLayer(m);
      return h("li", { "data-key": s.key, "data-lon": String(s.lon), "data-lat": String(s.lat) },
        h("b", {}, s.name), " ", s.services.map((x) => serviceName.get(x) || x).join("、"), " ",
        h("button", { class: "pe-remove", text: "×", title: t("移除", "remove"), onclick: () => send({ type: "remove", key: s.key }) }));
    }));
  }

  function drawCompare() {
    const v = state.variants;
    if (!v || !v.columns) return;
    const label = (x) => ({ base: t("现状", "base"), now: t("当前", "now") })[x] || x;
    const rowName = (x) => {
      const c = setup.circles.find((y) => y.id === x);
      if (c) return circleName(c);
      return ({ "targets passing": t("达标指标数", "targets passing"), stations: t("新增站点", "stations"), removed: t("移除设施", "removed") })[x] || x;
    };
    compare.replaceChildren(
      h("thead", {}, h("tr", {}, h("th"), v.columns.map((c) => h("th", { text: label(c) })))),
      h("tbody", {}, v.rows.map((r) => h("tr", {}, h("td", { text: rowName(r.label) }),
        r.values.map((x) => h("td", { class: "pe-num", text: r.label in { "targets passing": 1, stations: 1, removed: 1 } ? String(x ?? "—") : pct(x) }))))));
  }

  redraw();
  return () => map.remove();
}

function lowest(state, setup) {
  let best = setup.circles[0].id;
  let low = Infinity;
  for (const r of state.summary) {
    if (r.now !== null && r.now < low) { low = r.now; best = r.circle; }
  }
  return best;
}

export default { render };
