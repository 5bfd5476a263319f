// The traveller's page: collects the trips, asks the API (POST /api/v1/check and /api/v1/forecast)
// and shows its answers. Every verdict, date and reason comes from the server (the engine); this
// file only draws. Nothing of a traveller's leaves the browser except the check itself.
"use strict";

const LANGS = ["vi", "en", "ru", "kk"];
const STORE = "visafree.page.v2";
const OLD_STORE = "visafree.page.v1";
const LANG_STORE = "visafree.lang";
const $ = (id) => document.getElementById(id);

let messages = {};       // msgid -> text, from /api/v1/i18n/{lang} (the gettext catalogue)
let lang = "en";
let state = null;        // {on, current, travellers: [{name, nationality, destination, passportExpires, trips}]}
let lastAnswer = null, lastForecast = null, lastSent = null;
let timer = null, seq = 0, undoSnapshot = null, toastTimer = null;
let announced = "";
// Work done by the page, counted (not timed): tests compare adding the 100th and the 2,000th trip.
const work = { rowsBuilt: 0, rowsUpdated: 0, checks: 0 };
window.visafreeWork = work;

const t = (msgid, params) => {
  let text = messages[msgid] || msgid;
  if (params) for (const [k, v] of Object.entries(params)) text = text.split("{" + k + "}").join(String(v));
  return text;
};
const traveller = () => state.travellers[state.current];

// ---------------------------------------------------------------- dates as the language writes them

// The typed form of a date per language (from the catalogue: "date.input" is d, m, y in order with
// its separator), e.g. dd.mm.yyyy in Russian and Kazakh, dd/mm/yyyy in Vietnamese, yyyy-mm-dd in English.
function inputFormat() {
  const f = t("date.input");
  return f === "date.input" ? "yyyy-mm-dd" : f;
}

function isoOf(y, m, d) {
  const iso = `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  const probe = new Date(iso + "T00:00:00Z");
  return !isNaN(probe) && probe.toISOString().slice(0, 10) === iso ? iso : null;
}

// Typed text -> ISO date, "" for empty, or null for text that is not a real date (31.02.2025).
function parseTyped(text) {
  const s = String(text || "").trim();
  if (!s) return "";
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (m) return isoOf(+m[1], +m[2], +m[3]);
  const f = inputFormat();
  if (f.startsWith("dd")) {
    m = /^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$/.exec(s);
    if (m) return isoOf(+m[3], +m[2], +m[1]);
  }
  return null;
}

function typed(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-");
  const f = inputFormat();
  if (f.startsWith("dd")) return `${d}${f[2]}${m}${f[2]}${y}`;
  return iso;
}

function fmtDate(iso) {
  if (!iso) return "";
  const shown = (lastForecast && lastForecast.display && lastForecast.display.dates[iso])
    || (lastAnswer && lastAnswer.display && lastAnswer.display.dates[iso]);
  return shown || typed(iso);
}

const DAY = 86400000;
const ord = (iso) => Math.round(Date.parse(iso + "T00:00:00Z") / DAY);
const isoOfOrd = (n) => new Date(n * DAY).toISOString().slice(0, 10);

function todayIso() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}
const referenceDate = () => state.on || todayIso();

// ---------------------------------------------------------------- language

function initialLanguage() {
  const saved = localStorage.getItem(LANG_STORE);
  if (LANGS.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || ""]) {
    const primary = String(tag).toLowerCase().split(/[-_]/)[0];
    if (LANGS.includes(primary)) return primary;
  }
  return "en";
}

async function setLanguage(next, remember) {
  const [res, countries] = await Promise.all([fetch("/api/v1/i18n/" + next), fetch("/api/v1/countries?lang=" + next)]);
  if (!res.ok) return;
  messages = (await res.json()).messages;
  lang = next;
  if (remember) localStorage.setItem(LANG_STORE, next);
  document.documentElement.lang = next;
  $("lang").value = next;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.title = t("Visa-free stay calculator");
  if (countries.ok) fillCountries(await countries.json());
  const hint = t("Dates as {format}, e.g. {example}.", { format: t("date.placeholder"), example: typed("2025-07-01") });
  $("format-hint").textContent = hint;
  $("paste-hint").textContent = t("One trip per line: entry date, then exit date.") + " " + hint;
  $("paste-text").placeholder = typed("2025-01-01") + " " + typed("2025-01-25") + "\n" + typed("2025-03-01");
  document.querySelectorAll("input.date").forEach((el) => { el.placeholder = t("date.placeholder"); });
  showTraveller();  // inputs rewritten in the language's date format
  schedule(0);
}

function fillCountries(data) {
  for (const [id, list] of [["nationality", data.nationalities], ["destination", data.destinations]]) {
    const select = $(id);
    select.replaceChildren(...list.map((c) => new Option(c.name, c.code)));
  }
  if (state) { $("nationality").value = traveller().nationality; $("destination").value = traveller().destination; }
}

// ---------------------------------------------------------------- state (localStorage only)

function blankTraveller(n) {
  return { name: "", nationality: "KAZ", destination: "VNM", passportExpires: "", trips: [] };
}

function migrate(old) {
  // The page's first version kept one journey, its trips and one planned trip.
  const [, nationality, destination] = String(old.journey || "vn-kz:KAZ:VNM").split(":");
  const trips = (old.trips || []).filter((x) => x.entry || x.exit).map((x) => ({ entry: x.entry || "", exit: x.exit || "" }));
  if (old.plannedEntry) trips.push({ entry: old.plannedEntry, exit: old.plannedExit || "" });
  return { on: null, current: 0, travellers: [{ ...blankTraveller(1), nationality, destination,
    passportExpires: old.passportExpires || "", trips }] };
}

function loadState() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { saved = null; }
  if (!saved) {
    try { const old = JSON.parse(localStorage.getItem(OLD_STORE) || "null"); if (old) saved = migrate(old); } catch (e) { saved = null; }
  }
  if (!saved || !Array.isArray(saved.travellers) || !saved.travellers.length) {
    saved = { on: null, current: 0, travellers: [blankTraveller(1)] };
  }
  saved.current = Math.min(Math.max(0, saved.current | 0), saved.travellers.length - 1);
  return saved;
}

function save() {
  try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* storage full: the page still works */ }
}

function snapshot() { return JSON.stringify(state); }

function destructive(messageId, params, action) {
  undoSnapshot = snapshot();
  action();
  save();
  showTraveller();
  schedule(0);
  $("toast-text").textContent = t(messageId, params);
  $("toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("toast").hidden = true; }, 15000);
}

function undo() {
  if (!undoSnapshot) return;
  state = JSON.parse(undoSnapshot);
  undoSnapshot = null;
  $("toast").hidden = true;
  save();
  showTraveller();
  schedule(0);
}

// ---------------------------------------------------------------- the form

function showTraveller() {
  if (!state) return;
  const sel = $("traveller");
  sel.replaceChildren(...state.travellers.map((p, i) => new Option(p.name || t("Traveller {n}", { n: i + 1 }), String(i))));
  sel.value = String(state.current);
  const p = traveller();
  $("traveller-name").value = p.name;
  $("traveller-name").placeholder = t("Traveller {n}", { n: state.current + 1 });
  $("remove-traveller").disabled = state.travellers.length < 2;
  if ($("nationality").options.length) { $("nationality").value = p.nationality; $("destination").value = p.destination; }
  setDateInput($("passport-expires"), p.passportExpires);
  setDateInput($("on"), referenceDate());
  $("on-hint").textContent = state.on && state.on !== todayIso()
    ? t("Answers are for {date}, the reference date you chose; press Today to go back to today.", { date: typed(state.on) }) : "";
  buildRows();
}

function setDateInput(el, iso) {
  el.value = typed(iso);
  el.removeAttribute("aria-invalid");
  const err = el.id && $(el.id + "-error");
  if (err) { err.hidden = true; err.textContent = ""; }
}

let rowGeneration = 0;  // rows of an earlier build (a change event fired as they are removed) are ignored

function buildRows() {
  rowGeneration++;
  const list = $("trips");
  const trips = traveller().trips;
  const rows = trips.map((trip, i) => makeRow(trip, i));
  if (!trips.length) rows.push(makeRow({ entry: "", exit: "" }, 0));
  list.replaceChildren(...rows);
}

function makeRow(trip, i) {
  work.rowsBuilt++;
  const row = $("trip-row").content.firstElementChild.cloneNode(true);
  row.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  const entry = row.querySelector(".entry"), exit = row.querySelector(".exit");
  entry.value = typed(trip.entry);
  exit.value = typed(trip.exit);
  entry.placeholder = exit.placeholder = t("date.placeholder");
  numberRow(row, i);
  row.dataset.gen = String(rowGeneration);  // a late change event must not write to new trips
  return row;
}

function numberRow(row, i) {
  const n = i + 1;
  row.dataset.i = String(i);
  row.querySelector(".trip-n").textContent = n + ".";
  const name = t("Trip {n}", { n });
  row.querySelector(".entry").setAttribute("aria-label", name + ": " + t("Entry"));
  row.querySelector(".exit").setAttribute("aria-label", name + ": " + t("Exit"));
  row.querySelector(".remove").setAttribute("aria-label", t("Remove trip {n}", { n }));
}

function addTrip(focus) {
  const trips = traveller().trips;
  if (!trips.length && $("trips").children.length === 1) trips.push({ entry: "", exit: "" });  // the blank row shown
  trips.push({ entry: "", exit: "" });
  const row = makeRow(trips[trips.length - 1], trips.length - 1);
  $("trips").appendChild(row);  // one row built: the cost does not grow with the number of trips
  if (focus) row.querySelector(".entry").focus();
  save();
}

function removeTrip(i) {
  const trips = traveller().trips;
  destructive("Trip {n} removed.", { n: i + 1 }, () => { trips.splice(i, 1); });
  const rows = $("trips").children;
  const next = rows[Math.min(i, rows.length - 1)];
  (next ? next.querySelector(".entry") : $("add-trip")).focus();
}

function onTripInput(ev) {
  const input = ev.target;
  const row = input.closest(".trip");
  if (!row || !input.classList.contains("date") || row.dataset.gen !== String(rowGeneration)) return;
  const i = +row.dataset.i;
  const trips = traveller().trips;
  while (trips.length <= i) trips.push({ entry: "", exit: "" });
  const iso = checkDateField(input, ev.type === "change");
  if (iso === null) return;  // an impossible date: flagged at the field, not sent
  trips[i][input.classList.contains("entry") ? "entry" : "exit"] = iso;
  save();
  schedule(300);
}

// Marks an impossible or unreadable date at its field; returns the ISO date, "" or null.
function checkDateField(input, final) {
  const iso = parseTyped(input.value);
  const row = input.closest(".trip");
  let errorBox = input.id ? $(input.id + "-error") : null;
  if (iso === null) {
    // While typing, an incomplete date is not an error yet; on leaving the field it is.
    if (!final && input.value.replace(/\D/g, "").length < 8) return null;
    input.setAttribute("aria-invalid", "true");
    const text = t("Not a date: {value} (write it as {format}).", { value: input.value.trim(), format: t("date.placeholder") });
    if (row) {
      const v = row.querySelector(".trip-verdict");
      v.textContent = t("Trip {n}", { n: +row.dataset.i + 1 }) + ": " + text;
      v.className = "trip-verdict bad";
    } else if (errorBox) { errorBox.textContent = text; errorBox.hidden = false; }
    return null;
  }
  input.removeAttribute("aria-invalid");
  if (errorBox) { errorBox.hidden = true; errorBox.textContent = ""; }
  return iso;
}

// ---------------------------------------------------------------- paste, import, export, share

// Reads dates as written on stamps and in notes: 2025-01-31, 31.01.2025, 31/01/2025.
const DATE_RE = /(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[./](\d{1,2})[./](\d{4})/g;

function parseLines(text) {
  const trips = [], bad = [];
  text.split(/\r?\n/).forEach((line, k) => {
    if (!line.trim() || /^\s*entry\b/i.test(line)) return;  // blank lines and a CSV header
    const dates = [...line.matchAll(DATE_RE)].map((m) => (m[1] ? isoOf(+m[1], +m[2], +m[3]) : isoOf(+m[6], +m[5], +m[4])));
    if (!dates.length || dates.slice(0, 2).includes(null)) { bad.push({ line: k + 1, text: line.trim().slice(0, 60) }); return; }
    trips.push({ entry: dates[0], exit: dates[1] || "" });
  });
  return { trips, bad };
}

function replaceTrips(trips, statusEl, bad) {
  trips.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
  destructive("Trips replaced: {n}.", { n: trips.length }, () => { traveller().trips = trips; });
  statusEl.replaceChildren();
  if (bad.length) {
    const p = document.createElement("p");
    p.textContent = t("Lines that could not be read: {n}.", { n: bad.length });
    const ul = document.createElement("ul");
    for (const b of bad) {
      const li = document.createElement("li");
      li.textContent = t("Line {n}: {text}", { n: b.line, text: b.text });
      ul.appendChild(li);
    }
    statusEl.append(p, ul);
  }
}

function pasteTrips() {
  const { trips, bad } = parseLines($("paste-text").value);
  replaceTrips(trips, $("paste-status"), bad);
  if (!bad.length) $("paste-text").value = "";
}

function download(name, type, content) {
  const url = URL.createObjectURL(content instanceof Blob ? content : new Blob([content], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function exportJson() {
  const p = traveller();
  download("visafree-trips.json", "application/json",
    JSON.stringify({ version: 2, on: state.on, traveller: p }, null, 1));
}

function exportCsv() {
  const rows = ["entry,exit"].concat(traveller().trips.filter((x) => x.entry || x.exit).map((x) => `${x.entry},${x.exit}`));
  download("visafree-trips.csv", "text/csv", rows.join("\n") + "\n");
}

async function importFile(file) {
  const text = await file.text();
  let trips = null, bad = [];
  try {
    const data = JSON.parse(text);
    const p = data.traveller || data;
    trips = (p.trips || []).map((x) => ({ entry: parseTyped(x.entry) || "", exit: parseTyped(x.exit) || "" }));
    if (p.nationality) traveller().nationality = p.nationality;
    if (p.destination) traveller().destination = p.destination;
    if (p.passportExpires !== undefined) traveller().passportExpires = p.passportExpires;
  } catch (e) {
    ({ trips, bad } = parseLines(text));
  }
  replaceTrips(trips, $("keep-status"), bad);
}

async function deflate(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function inflate(code) {
  const bin = atob(code.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return await new Response(stream).text();
}

async function makeShareLink() {
  const p = traveller();
  const code = await deflate(JSON.stringify({ on: state.on, traveller: p }));
  // The fragment (after #) is never sent to the server.
  const link = location.origin + location.pathname + "#trips=" + code;
  $("share-link").value = link;
  $("share-link").select();
  try { await navigator.clipboard.writeText(link); $("keep-status").textContent = t("Link copied."); }
  catch (e) { $("keep-status").textContent = t("Copy the link above."); }
}

async function openSharedLink() {
  const m = /#trips=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!m) return;
  try {
    const data = JSON.parse(await inflate(m[1]));
    const p = data.traveller;
    if (!p || !Array.isArray(p.trips)) return;
    state.travellers.push({ ...blankTraveller(state.travellers.length + 1), ...p });
    state.current = state.travellers.length - 1;
    if (data.on) state.on = data.on;
    save();
  } catch (e) { /* a damaged link: ignored, the page opens as it was */ }
  history.replaceState(null, "", location.pathname + location.search);
}

// ---------------------------------------------------------------- the request

// Trips split by the reference date: those ended on or before it are history, one that began and
// has not ended is the current stay, later ones are planned. A planned trip with only an entry
// date (the last) asks "how long may I stay" and is answered from the forecast.
function buildRequest() {
  const p = traveller();
  const on = referenceDate();
  const indexed = p.trips.map((trip, i) => ({ ...trip, i })).filter((x) => x.entry || x.exit);
  indexed.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : a.i - b.i));
  const stays = [], stayRows = [], planned = [], plannedRows = [], stillThere = {};
  let question = null;  // {i, entry}: a planned entry without exit
  for (const x of indexed) {
    if (!x.entry) { stays.push({ entry: x.entry, exit: x.exit || null }); stayRows.push(x.i); continue; }  // refused by the API, at its field
    if (x.entry <= on) {
      if (x.exit && x.exit <= on) stays.push({ entry: x.entry, exit: x.exit });
      else { stays.push({ entry: x.entry }); if (x.exit) stillThere[x.i] = x.exit; }
      stayRows.push(x.i);
    } else if (x.exit) { planned.push({ entry: x.entry, exit: x.exit }); plannedRows.push(x.i); }
    else if (!question) question = { i: x.i, entry: x.entry };
    else { planned.push({ entry: x.entry, exit: null }); plannedRows.push(x.i); }  // the API names the missing exit
  }
  const body = { nationality: p.nationality, destination: p.destination, on, stays };
  if (p.passportExpires) body.passport = { type: "ordinary", expires: p.passportExpires };
  if (planned.length) body.planned = planned;
  // Out of the country: the earliest day a one-day entry is allowed is the earliest return.
  if (!stays.some((s) => !s.exit)) body.trip_days = 1;
  return { body, stayRows, plannedRows, question, stillThere };
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(runCheck, delay);
}

async function post(path, body) {
  const res = await fetch(path + "?lang=" + lang, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  return res;
}

async function runCheck() {
  if (!state) return;
  const onInput = $("on");
  if (parseTyped(onInput.value) === null) return;
  const sent = buildRequest();
  noticeMovedPlans();
  const mine = ++seq;
  work.checks++;
  let res, data, fres, forecast = null;
  try {
    [res, fres] = await Promise.all([post("/api/v1/check", sent.body), post("/api/v1/forecast", sent.body)]);
    data = await res.json();
    if (fres.ok) forecast = await fres.json();
  } catch (e) {
    if (mine === seq) showError(t("The server could not be reached."), null);
    return;
  }
  if (mine !== seq) return;  // an older answer arriving late must not overwrite a newer one
  clearApiMarks();
  if (!res.ok) {
    const err = data.error || { code: "invalid_request", message: "" };
    // A trip's error is said with the trip's own number (the API counts stays and planned trips
    // apart, in date order); the API's detail is kept for the other fields.
    const row = rowOfField(err.field, sent);
    showError(errorTitle(err, sent), row === null ? err.message : partnerText(err, sent));
    markField(err.field, sent);
    return;
  }
  lastAnswer = data;
  lastForecast = forecast && forecast.status === "ok" ? forecast : null;
  lastSent = sent;
  render(data, sent);
}

// A plan whose start date has come since the last visit is now a trip made: said plainly, once.
function noticeMovedPlans() {
  const on = referenceDate(), seen = state.seenOn;
  const moved = seen && seen < on ? traveller().trips.filter((x) => x.entry > seen && x.entry <= on).length : 0;
  const box = $("moved");
  box.hidden = !moved;
  box.textContent = moved ? t("Planned trips that have started since {date} now count as trips made: {n}.", { date: fmtDate(seen), n: moved }) : "";
  if (state.seenOn !== on) { state.seenOn = on; save(); }
}

function errorTitle(err, sent) {
  const title = messages["error." + err.code] ? t("error." + err.code) : t("error.invalid_request");
  const row = rowOfField(err.field, sent);
  return row === null ? title : t("Trip {n}", { n: row + 1 }) + ": " + title;
}

// The other trip of an overlap or of a second open stay, by its number on the page.
function partnerText(err, sent) {
  const m = /^(stays|planned)\[(\d+)\]/.exec(err.field || "");
  if (!m || (err.code !== "overlapping_stays" && err.code !== "multiple_open_stays")) return null;
  const k = +m[2];
  let other;
  if (err.code === "multiple_open_stays") other = sent.stayRows[sent.body.stays.findIndex((x) => !x.exit)];
  else if (m[1] === "stays") other = sent.stayRows[k - 1];
  else other = k > 0 ? sent.plannedRows[k - 1] : sent.stayRows[sent.stayRows.length - 1];
  return other === undefined ? null : t("With trip {n}.", { n: other + 1 });
}

function rowOfField(field, sent) {
  const m = /^(stays|planned)\[(\d+)\]/.exec(field || "");
  if (!m) return null;
  const rows = m[1] === "stays" ? sent.stayRows : sent.plannedRows;
  return rows[+m[2]] === undefined ? null : rows[+m[2]];
}

function clearApiMarks() {
  document.querySelectorAll("[data-api-invalid]").forEach((el) => { el.removeAttribute("aria-invalid"); el.removeAttribute("data-api-invalid"); });
}

function markField(field, sent) {
  if (!field) return;
  let el = null;
  const row = rowOfField(field, sent);
  if (row !== null) {
    const m = /\.(entry|exit)$/.exec(field);
    const li = $("trips").children[row];
    if (li) el = li.querySelector("." + (m ? m[1] : "entry"));
  } else if (field.startsWith("passport")) el = $("passport-expires");
  else if (field === "on") el = $("on");
  if (el) { el.setAttribute("aria-invalid", "true"); el.setAttribute("data-api-invalid", "1"); }
}

function showError(title, detail) {
  $("answer").hidden = true;
  $("message").hidden = true;
  const box = $("error");
  const strong = document.createElement("strong");
  strong.textContent = title;
  const parts = [strong];
  if (detail) { const p = document.createElement("div"); p.textContent = detail; parts.push(p); }
  box.replaceChildren(...parts);
  box.hidden = false;
}

// ---------------------------------------------------------------- rendering the answer

function reasonName(code, a) {
  return (a && a.display && a.display.reasons[code]) || t("reason." + code);
}

function windowMax(a) {
  if (lastForecast && lastForecast.window) return lastForecast.window.max_days;
  return a.days_used + a.days_remaining;
}

function setText(el, text, cls) {
  if (el.textContent !== text) el.textContent = text;
  if (cls !== undefined && el.className !== cls) el.className = cls;
}

function render(a, sent) {
  $("error").hidden = true;
  $("message").hidden = true;
  const answer = $("answer");
  answer.hidden = false;
  if (a.status === "no_regime") {
    answer.hidden = true;
    showError(t("No visa-free regime covers this journey: a visa or a permit is needed."), null);
    renderRows(null, sent);
    drawCalendar(null, sent);
    $("explanation").replaceChildren(...a.explanation.map((n) => li(n.text)));
    return;
  }
  setText($("regime-name"), a.regime_title || "");
  const max = windowMax(a);
  const over = a.overstay_days > 0;
  const current = a.current_stay;
  let status = a.in_country ? t("In the country") + " — " + t("Day {day} of the stay", { day: current.day }) : t("Not in the country");
  if (over) status = t("Overstay: {days} days over the limit", { days: a.overstay_days }) + " — " + status;
  setText($("status"), status, "status" + (over ? " over" : ""));

  // Leave by: the current stay's latest exit, from the API as it gives it.
  const leaveBox = $("leave-by-box");
  leaveBox.hidden = !a.in_country;
  if (current) {
    const late = current.latest_exit && current.latest_exit < a.on;
    setText($("leave-by"), current.latest_exit ? fmtDate(current.latest_exit) : t("No date given"));
    setText($("leave-by-rule"), current.limited_by ? t("Set by") + ": " + reasonName(current.limited_by, a) : "");
    leaveBox.className = late || !current.latest_exit ? "bad" : "";
  }
  if (a.days_used === null) {
    $("days-used-box").hidden = $("days-left-box").hidden = true;
  } else {
    $("days-used-box").hidden = $("days-left-box").hidden = false;
    const usedText = over || a.days_used > max
      ? t("{used} days, limit {max}", { used: a.days_used, max }) : t("{used} of {max} days", { used: a.days_used, max });
    setText($("days-used"), usedText);
    $("days-used-box").className = a.days_used > max ? "bad" : "";
    setText($("days-left"), String(a.days_remaining));
  }
  setText($("overstay"), over ? t("{days} days of overstay", { days: a.overstay_days }) : t("No overstay"), over ? "bad" : "");
  $("overstay-box").className = over ? "bad" : "";

  const e = a.earliest_entry;
  $("earliest-box").hidden = !e;
  if (e) {
    setText($("earliest-label"), t("Earliest return"));
    setText($("earliest"), e.date ? fmtDate(e.date) : t("No date found") + " (" + e.reasons.map((r) => reasonName(r, a)).join(", ") + ")",
      "verdict " + (e.date ? "ok" : "no"));
  }
  renderPlan(a, sent);
  renderRows(a, sent);
  drawCalendar(a, sent);
  $("explanation").replaceChildren(...a.explanation.map((n) => {
    const item = li(n.text);
    item.dataset.code = n.code;
    if (n.code.startsWith("violation") || n.code === "planned_no" || n.code === "coverage_no"
        || n.code === "entry_refused_window" || n.code === "passport_short") item.className = "bad";
    return item;
  }));
  announce(a, max);
}

function li(text) { const el = document.createElement("li"); el.textContent = text; return el; }

// Figures that changed are said once by the live region (screen readers).
function announce(a, max) {
  const parts = [];
  if (a.current_stay && a.current_stay.latest_exit) parts.push(t("Leave by") + ": " + fmtDate(a.current_stay.latest_exit));
  if (a.days_used !== null) parts.push(t("Days left") + ": " + a.days_remaining, t("Days used") + ": " + t("{used} of {max} days", { used: a.days_used, max }));
  if (a.overstay_days) parts.push(t("{days} days of overstay", { days: a.overstay_days }));
  const text = parts.join(". ");
  if (text !== announced) { announced = text; $("announce").textContent = text; }
}

// "You may stay until X" for the planned entry without exit, from the forecast's longest stay.
function plannedQuestion(sent) {
  const q = sent.question;
  if (!q || !lastForecast || !lastForecast.starts) return null;
  const k = ord(q.entry) - ord(lastForecast.starts.from);
  const days = lastForecast.starts.longest_stay[k];
  if (days === undefined) return { q, text: t("Too far ahead: the calendar covers the next 12 months."), ok: false };
  if (!days) return { q, text: t("Entry not allowed") + ": " + reasonName(lastForecast.starts.limited_by[k], lastAnswer), ok: false };
  const until = isoOfOrd(ord(q.entry) + days - 1);
  return { q, ok: true, until, text: t("You may stay until {date}", { date: fmtDate(until) }) + " (" + t("{days} days", { days })
    + "; " + t("Set by") + ": " + reasonName(lastForecast.starts.limited_by[k], lastAnswer) + ")" };
}

function renderPlan(a, sent) {
  const items = [];
  (a.planned || []).forEach((p, k) => {
    const n = sent.plannedRows[k] + 1;
    const item = document.createElement("li");
    const verdict = document.createElement("span");
    verdict.className = p.ok ? "ok" : "no";
    verdict.textContent = p.ok ? t("Allowed") : t("Not allowed");
    item.append(t("Trip {n}", { n }) + ", " + fmtDate(p.entry) + " – " + fmtDate(p.exit) + ": ", verdict);
    const reasons = p.reasons.map((r) => reasonName(r, a)).join(", ");
    if (reasons) item.append(" (" + reasons + ")");
    if (p.latest_exit) item.append(". " + t("Latest exit") + ": " + fmtDate(p.latest_exit));
    items.push(item);
  });
  const question = plannedQuestion(sent);
  if (question) {
    const item = document.createElement("li");
    item.textContent = t("Trip {n}", { n: question.q.i + 1 }) + ", " + fmtDate(question.q.entry) + ": " + question.text;
    item.className = question.ok ? "" : "no";
    items.push(item);
  }
  $("plan-box").hidden = !items.length;
  $("plan-list").replaceChildren(...items);
}

// Each row's verdict in words; only rows whose text changes are touched.
function renderRows(a, sent) {
  const rows = $("trips").children;
  const texts = new Map();
  if (a) {
    sent.stayRows.forEach((i, k) => {
      const s = a.stays[k];
      if (!s) return;
      if (!s.exit && a.current_stay) {
        const c = a.current_stay;
        let text = t("In the country") + ". " + (c.latest_exit ? t("Leave by") + ": " + fmtDate(c.latest_exit) : "");
        if (sent.stillThere[i] && c.latest_exit && sent.stillThere[i] > c.latest_exit) {
          text += ". " + t("The exit you plan is after the leave-by date.");
        }
        texts.set(i, [text, s.overstay_days ? "bad" : ""]);
      } else {
        texts.set(i, [t("{days} days", { days: s.days }) + (s.overstay_days ? " · " + t("{days} days of overstay", { days: s.overstay_days }) : ""),
          s.overstay_days ? "bad" : ""]);
      }
    });
    (a.planned || []).forEach((p, k) => {
      const i = sent.plannedRows[k];
      const why = p.reasons.map((r) => reasonName(r, a)).join(", ");
      texts.set(i, [t("Planned") + ": " + (p.ok ? t("Allowed") : t("Not allowed") + " (" + why + ")")
        + (p.latest_exit ? ". " + t("Latest exit") + ": " + fmtDate(p.latest_exit) : ""), p.ok ? "ok" : "no"]);
    });
    const question = plannedQuestion(sent);
    if (question) texts.set(question.q.i, [t("Planned") + ": " + question.text, question.ok ? "ok" : "no"]);
  }
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i].querySelector(".trip-verdict");
    const entry = rows[i].querySelector(".entry"), exit = rows[i].querySelector(".exit");
    if (entry.getAttribute("aria-invalid") === "true" && !entry.dataset.apiInvalid) continue;  // its own message stays
    if (exit.getAttribute("aria-invalid") === "true" && !exit.dataset.apiInvalid) continue;
    const [text, cls] = texts.get(i) || ["", ""];
    if (v.textContent !== text) { v.textContent = text; work.rowsUpdated++; }
    const want = "trip-verdict " + cls;
    if (v.className !== want) v.className = want;
  }
}

// ---------------------------------------------------------------- the calendar

function presenceMaps(a, sent) {
  // Days of trips in the calendar's range, only to draw them (the counts shown come from the API).
  const trip = new Set(), planned = new Set(), over = new Set(), leave = new Set();
  if (!lastForecast) return { trip, planned, over, leave };
  const first = ord(lastForecast.days_used ? lastForecast.days_used.from : lastForecast.on);
  const last = ord(lastForecast.on) + lastForecast.starts.longest_stay.length;
  const on = ord(a.on);
  for (const s of sent.body.stays) {
    if (!s.entry) continue;
    const end = s.exit ? ord(s.exit) : on;
    for (let d = Math.max(ord(s.entry), first); d <= Math.min(end, last); d++) trip.add(d);
  }
  for (const p of sent.body.planned || []) {
    if (!p.exit) continue;
    for (let d = Math.max(ord(p.entry), first); d <= Math.min(ord(p.exit), last); d++) planned.add(d);
  }
  for (const v of a.violations || []) for (let d = ord(v.date); d < ord(v.date) + v.days; d++) over.add(d);
  if (a.current_stay && a.current_stay.latest_exit) leave.add(ord(a.current_stay.latest_exit));
  for (const p of a.planned || []) if (p.latest_exit) leave.add(ord(p.latest_exit));
  return { trip, planned, over, leave };
}

function drawCalendar(a, sent) {
  const box = $("calendar");
  const f = lastForecast;
  if (!a || !f || !f.starts) { box.replaceChildren(); $("safe-periods").replaceChildren(); return; }
  const maps = presenceMaps(a, sent);
  const on = ord(f.on);
  const usedFrom = f.days_used ? ord(f.days_used.from) : on;
  const lastDay = on + f.starts.longest_stay.length - 1;
  const longest = f.starts.longest_stay;
  const best = Math.max(0, ...longest);
  const months = (f.display && f.display.months) || [];
  const weekdays = [1, 2, 3, 4, 5, 6, 7].map((k) => t("weekday." + k));
  const tables = [];
  let d = usedFrom - (new Date(usedFrom * DAY).getUTCDate() - 1);  // first of the month
  while (d <= lastDay) {
    const date = new Date(d * DAY);
    const y = date.getUTCFullYear(), m = date.getUTCMonth();
    const table = document.createElement("table");
    table.className = "month";
    const caption = document.createElement("caption");
    caption.textContent = (months[m] || String(m + 1)) + " " + y;
    table.appendChild(caption);
    const head = document.createElement("tr");
    for (const w of weekdays) { const th = document.createElement("th"); th.scope = "col"; th.textContent = w; head.appendChild(th); }
    const thead = document.createElement("thead"); thead.appendChild(head); table.appendChild(thead);
    const tbody = document.createElement("tbody");
    let tr = document.createElement("tr");
    const lead = (date.getUTCDay() + 6) % 7;  // Monday first
    for (let k = 0; k < lead; k++) { const td = document.createElement("td"); td.className = "blank"; tr.appendChild(td); }
    while (true) {
      const cur = new Date(d * DAY);
      if (cur.getUTCMonth() !== m) break;
      tr.appendChild(dayCell(d, cur.getUTCDate(), f, a, maps, on, usedFrom, lastDay, best));
      if (tr.children.length === 7) { tbody.appendChild(tr); tr = document.createElement("tr"); }
      d++;
    }
    if (tr.children.length) { while (tr.children.length < 7) { const td = document.createElement("td"); td.className = "blank"; tr.appendChild(td); } tbody.appendChild(tr); }
    table.appendChild(tbody);
    tables.push(table);
  }
  box.replaceChildren(...tables);
  drawSafePeriods(f, best);
}

function dayCell(d, dayOfMonth, f, a, maps, on, usedFrom, lastDay, best) {
  const td = document.createElement("td");
  const iso = isoOfOrd(d);
  td.dataset.day = iso;
  const classes = [];
  const words = [fmtDate(iso)];
  const num = document.createElement("span"); num.className = "d"; num.textContent = String(dayOfMonth);
  td.appendChild(num);
  if (d < usedFrom || d > lastDay) { td.className = "cal-out"; td.setAttribute("aria-label", words[0]); return td; }
  if (d === on) classes.push("cal-today");
  let mark = "";
  if (maps.over.has(d)) { classes.push("cal-over"); mark = "✕"; words.push(t("A day of overstay")); }
  else if (maps.trip.has(d)) { classes.push("cal-trip"); mark = "●"; words.push(t("A day of a trip")); }
  else if (maps.planned.has(d)) { classes.push("cal-planned"); mark = "○"; words.push(t("A day of a planned trip")); }
  if (maps.leave.has(d)) { classes.push("cal-leave"); mark += "⚑"; words.push(t("Leave-by date")); }
  if (f.days_used) {
    const used = f.days_used.values[d - usedFrom];
    const u = document.createElement("span"); u.className = "u"; u.textContent = mark + used;
    td.appendChild(u);
    words.push(t("Days used") + ": " + used);
  }
  if (d >= on) {
    const L = f.starts.longest_stay[d - on];
    classes.push(L === 0 ? "cal-none" : L >= best ? "cal-full" : "cal-part");
    const s = document.createElement("span"); s.className = "s"; s.textContent = L ? "↦" + L : "–";
    td.appendChild(s);
    words.push(L ? t("A stay from this day may last {days} days", { days: L }) : t("Entry not allowed"));
  }
  td.className = classes.join(" ");
  td.setAttribute("aria-label", words.join(". "));
  return td;
}

function drawSafePeriods(f, best) {
  // Runs of start dates that allow the same kind of stay, said in words.
  const items = [];
  const L = f.starts.longest_stay;
  const from = ord(f.starts.from);
  let k = 0;
  while (k < L.length && items.length < 12) {
    const kind = L[k] === 0 ? 0 : L[k] >= best ? 2 : 1;
    let j = k, lo = L[k], hi = L[k];
    while (j + 1 < L.length && (L[j + 1] === 0 ? 0 : L[j + 1] >= best ? 2 : 1) === kind) { j++; lo = Math.min(lo, L[j]); hi = Math.max(hi, L[j]); }
    const span = fmtDate(isoOfOrd(from + k)) + " – " + fmtDate(isoOfOrd(from + j));
    let text;
    if (kind === 0) text = span + ": " + t("Entry not allowed") + " (" + reasonName(f.starts.limited_by[k], lastAnswer) + ")";
    else if (lo === hi) text = span + ": " + t("a stay of up to {days} days", { days: hi });
    else text = span + ": " + t("a stay of {min} to {max} days, depending on the day", { min: lo, max: hi });
    const item = li(text);
    item.className = ["cal-none", "cal-part", "cal-full"][kind];
    items.push(item);
    k = j + 1;
  }
  $("safe-periods").replaceChildren(...items);
}

// ---------------------------------------------------------------- calendar file and PDF

async function fetchDocument(path, name) {
  if (!lastSent) return;
  const res = await post(path, lastSent.body);
  if (!res.ok) {
    let detail = "";
    try { detail = (await res.json()).error.message; } catch (e) { detail = ""; }
    showError(t("The file could not be made."), detail);
    return;
  }
  download(name, res.headers.get("content-type") || "application/octet-stream", await res.blob());
}

// ---------------------------------------------------------------- wiring

function onFieldChange(ev) {
  const el = ev.target;
  const p = traveller();
  if (el.id === "traveller-name") {
    p.name = el.value;
    $("traveller").options[state.current].textContent = el.value || t("Traveller {n}", { n: state.current + 1 });
    save();
    return;
  }
  if (el.id === "nationality" || el.id === "destination") { p[el.id] = el.value; save(); schedule(0); return; }
  if (el.id === "passport-expires") {
    const iso = checkDateField(el, ev.type === "change");
    if (iso === null) return;
    p.passportExpires = iso; save(); schedule(300); return;
  }
  if (el.id === "on") {
    const iso = checkDateField(el, ev.type === "change");
    if (!iso) return;
    state.on = iso === todayIso() ? null : iso;
    save();
    $("on-hint").textContent = state.on ? t("Answers are for {date}, the reference date you chose; press Today to go back to today.", { date: typed(state.on) }) : "";
    schedule(300);
    return;
  }
  if (el.closest && el.closest("#trips")) onTripInput(ev);
}

document.addEventListener("DOMContentLoaded", async () => {
  state = loadState();
  await openSharedLink();
  $("form").addEventListener("input", onFieldChange);
  $("form").addEventListener("change", onFieldChange);
  $("form").addEventListener("submit", (e) => { e.preventDefault(); schedule(0); });
  $("trips").addEventListener("click", (e) => {
    const btn = e.target.closest(".remove");
    if (btn) removeTrip(+btn.closest(".trip").dataset.i);
  });
  $("add-trip").addEventListener("click", () => addTrip(true));
  $("clear-trips").addEventListener("click", () => destructive("All trips removed.", null, () => { traveller().trips = []; }));
  $("paste-add").addEventListener("click", pasteTrips);
  $("today").addEventListener("click", () => { state.on = null; save(); showTraveller(); schedule(0); });
  $("traveller").addEventListener("change", () => { state.current = +$("traveller").value; save(); showTraveller(); schedule(0); });
  $("add-traveller").addEventListener("click", () => {
    const p = traveller();
    state.travellers.push({ ...blankTraveller(state.travellers.length + 1), nationality: p.nationality, destination: p.destination });
    state.current = state.travellers.length - 1;
    save(); showTraveller(); schedule(0);
    $("traveller-name").focus();
    $("traveller-name").select();
  });
  $("remove-traveller").addEventListener("click", () => {
    if (state.travellers.length < 2) return;
    const name = traveller().name || t("Traveller {n}", { n: state.current + 1 });
    destructive("{name} removed.", { name }, () => { state.travellers.splice(state.current, 1); state.current = Math.max(0, state.current - 1); });
  });
  $("undo").addEventListener("click", undo);
  $("share").addEventListener("click", makeShareLink);
  $("export-json").addEventListener("click", exportJson);
  $("export-csv").addEventListener("click", exportCsv);
  $("import-file").addEventListener("change", (e) => { if (e.target.files[0]) importFile(e.target.files[0]); e.target.value = ""; });
  $("ics").addEventListener("click", () => fetchDocument("/api/v1/calendar.ics", "visafree.ics"));
  $("pdf").addEventListener("click", () => fetchDocument("/api/v1/report.pdf", "visafree-report.pdf"));
  $("print").addEventListener("click", () => window.print());
  $("lang").addEventListener("change", () => setLanguage($("lang").value, true));
  window.addEventListener("hashchange", async () => { await openSharedLink(); showTraveller(); schedule(0); });
  await setLanguage(initialLanguage(), false);
});
