// The traveller's page: collects the trips, asks POST /api/v1/check, and shows its answer.
// Every verdict, date and reason comes from the server (the engine); this file only draws.
"use strict";

const LANGS = ["vi", "en", "ru", "kk"];
const STORE = "visafree.page.v1";
const LANG_STORE = "visafree.lang";
const $ = (id) => document.getElementById(id);

let messages = {};        // msgid -> text, from /api/v1/i18n/{lang} (the gettext catalogue)
let lang = "en";
let lastAnswer = null;
let lastRequest = null;
let timer = null;
let seq = 0;

const t = (msgid, params) => {
  let text = messages[msgid] || msgid;
  if (params) for (const [k, v] of Object.entries(params)) text = text.split("{" + k + "}").join(String(v));
  return text;
};

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
  const res = await fetch("/api/v1/i18n/" + next);
  if (!res.ok) return;
  messages = (await res.json()).messages;
  lang = next;
  if (remember) localStorage.setItem(LANG_STORE, next);
  document.documentElement.lang = next;
  $("lang").value = next;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.title = t("Visa-free stay calculator");
  renumberTrips();
  schedule(0);
}

// ---------------------------------------------------------------- state (localStorage only)

function readForm() {
  return {
    journey: $("journey").value,
    passportExpires: $("passport-expires").value,
    trips: [...document.querySelectorAll("#trips .trip")].map((row) => ({
      entry: row.querySelector(".entry").value, exit: row.querySelector(".exit").value,
    })),
    plannedEntry: $("planned-entry").value,
    plannedExit: $("planned-exit").value,
    tripDays: $("trip-days").value,
  };
}

function save() {
  localStorage.setItem(STORE, JSON.stringify(readForm()));
}

function restore() {
  let state = null;
  try { state = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { state = null; }
  if (!state) { addTrip({}); return; }
  if ([...$("journey").options].some((o) => o.value === state.journey)) $("journey").value = state.journey;
  $("passport-expires").value = state.passportExpires || "";
  (state.trips && state.trips.length ? state.trips : [{}]).forEach((trip) => addTrip(trip));
  $("planned-entry").value = state.plannedEntry || "";
  $("planned-exit").value = state.plannedExit || "";
  $("trip-days").value = state.tripDays || "";
}

// ---------------------------------------------------------------- trip rows

function addTrip(trip, focus) {
  const row = $("trip-row").content.firstElementChild.cloneNode(true);
  row.querySelector(".entry").value = trip.entry || "";
  row.querySelector(".exit").value = trip.exit || "";
  row.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  row.querySelector(".remove").addEventListener("click", () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumberTrips();
    changed();
    if (next) next.querySelector(".entry").focus(); else $("add-trip").focus();
  });
  $("trips").appendChild(row);
  renumberTrips();
  if (focus) row.querySelector(".entry").focus();
}

function renumberTrips() {
  document.querySelectorAll("#trips .trip").forEach((row, i) => {
    const n = i + 1;
    row.querySelector(".trip-n").textContent = n + ".";
    row.querySelector(".entry").setAttribute("aria-label", t("Trip {n}", { n }) + ": " + t("Entry"));
    row.querySelector(".exit").setAttribute("aria-label", t("Trip {n}", { n }) + ": " + t("Exit"));
    row.querySelector(".remove").setAttribute("aria-label", t("Remove trip {n}", { n }));
  });
}

// Reads dates as written on stamps and in notes: 2025-01-31, 31.01.2025, 31/01/2025.
const DATE_RE = /(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[./](\d{1,2})[./](\d{4})/g;

function isoOf(y, m, d) {
  const iso = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  const probe = new Date(iso + "T00:00:00Z");
  return !isNaN(probe) && probe.toISOString().slice(0, 10) === iso ? iso : null;
}

function parsePasted(text) {
  const trips = [];
  let bad = 0;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const dates = [...line.matchAll(DATE_RE)].map((m) => (m[1] ? isoOf(m[1], m[2], m[3]) : isoOf(m[6], m[5], m[4])));
    if (!dates.length || dates.slice(0, 2).includes(null)) { bad++; continue; }
    trips.push({ entry: dates[0], exit: dates[1] || "" });
  }
  return { trips, bad };
}

function pasteTrips() {
  const { trips, bad } = parsePasted($("paste-text").value);
  // Drop the empty row a fresh page starts with, so pasted trips are not preceded by a blank one.
  document.querySelectorAll("#trips .trip").forEach((row) => {
    if (!row.querySelector(".entry").value && !row.querySelector(".exit").value) row.remove();
  });
  const all = readForm().trips.concat(trips).sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
  $("trips").replaceChildren();
  all.forEach((trip) => addTrip(trip));
  if (!all.length) addTrip({});
  $("paste-status").textContent = bad ? t("Lines that could not be read: {n}.", { n: bad }) : "";
  if (!bad) $("paste-text").value = "";
  changed();
}

// ---------------------------------------------------------------- the check

function buildRequest() {
  const form = readForm();
  const [regime, nationality, destination] = form.journey.split(":");
  const sent = [];  // index in the request -> row, to point an error at its input
  const stays = [];
  document.querySelectorAll("#trips .trip").forEach((row) => {
    const entry = row.querySelector(".entry").value;
    const exit = row.querySelector(".exit").value;
    if (!entry && !exit) return;
    stays.push(exit ? { entry, exit } : { entry });
    sent.push(row);
  });
  const body = { regime, nationality, destination, on: $("on").value, stays };
  if (form.passportExpires) body.passport = { type: "ordinary", expires: form.passportExpires };
  if (form.plannedEntry && form.plannedExit) body.planned = [{ entry: form.plannedEntry, exit: form.plannedExit }];
  const days = parseInt(form.tripDays, 10);
  if (days >= 1) body.trip_days = days;
  // Out of the country and no trip length given: ask for the earliest day a one-day entry is
  // allowed, which is the earliest return.
  else if (!stays.some((s) => !s.exit)) body.trip_days = 1;
  return { body, rows: sent };
}

function changed() {
  save();
  schedule(250);
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(runCheck, delay);
}

async function runCheck() {
  const { body, rows } = buildRequest();
  if (!body.on) return;
  const mine = ++seq;
  document.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  let res, data;
  try {
    res = await fetch("/api/v1/check?lang=" + lang, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    data = await res.json();
  } catch (e) {
    if (mine === seq) showError(t("The server could not be reached."), null);
    return;
  }
  if (mine !== seq) return;  // an older answer arriving late must not overwrite a newer one
  if (!res.ok) {
    const err = data.error || { code: "invalid_request", message: "" };
    markField(err.field, rows);
    showError(t("error." + err.code), err.message);
    return;
  }
  lastAnswer = data;
  lastRequest = body;
  render(data, body);
}

function markField(field, rows) {
  if (!field) return;
  const m = /^(stays|planned)\[(\d+)\](?:\.(entry|exit))?/.exec(field);
  let el = null;
  if (m && m[1] === "stays" && rows[+m[2]]) el = rows[+m[2]].querySelector("." + (m[3] || "entry"));
  else if (m && m[1] === "planned") el = $("planned-" + (m[3] || "entry"));
  else if (field.startsWith("passport")) el = $("passport-expires");
  else if (field === "on") el = $("on");
  else if (field === "trip_days") el = $("trip-days");
  if (el) el.setAttribute("aria-invalid", "true");
}

function showError(title, detail) {
  $("answer").hidden = true;
  $("message").hidden = true;
  const box = $("error");
  box.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = title;
  box.appendChild(strong);
  if (detail) {
    const p = document.createElement("div");
    p.textContent = detail;  // the server's precise message (English), naming the field
    box.appendChild(p);
  }
  box.hidden = false;
}

// ---------------------------------------------------------------- rendering the answer

function fmtDate(iso, a) {
  return (a.display && a.display.dates[iso]) || iso;
}

function reasonName(code, a) {
  return (a.display && a.display.reasons[code]) || t("reason." + code);
}

function render(a, req) {
  $("error").hidden = true;
  $("message").hidden = true;
  $("answer").hidden = false;
  const max = a.days_used + a.days_remaining;

  const status = $("status");
  status.textContent = a.in_country
    ? t("In the country") + " — " + t("Day {day} of the stay", { day: a.current_stay.day })
    : t("Not in the country");
  status.className = "status " + (a.in_country ? "in" : "out");

  $("days-used").textContent = t("{used} of {max} days", { used: a.days_used, max });
  $("days-left").textContent = String(a.days_remaining);

  const leaveBox = $("leave-by-box");
  leaveBox.hidden = !a.in_country;
  if (a.current_stay) {
    const c = a.current_stay;
    $("leave-by").textContent = c.latest_exit ? fmtDate(c.latest_exit, a) : t("Entry not allowed");
    const note = a.explanation.find((n) => n.code.startsWith("latest_exit"));
    $("leave-by-rule").textContent = c.limited_by
      ? reasonName(c.limited_by, a) + (note && note.rule ? " (" + note.rule + ")" : "") : "—";
    leaveBox.className = c.latest_exit && c.latest_exit >= a.on ? "" : "bad";
  }

  const over = $("overstay");
  over.textContent = a.overstay_days ? t("{days} days of overstay", { days: a.overstay_days }) : t("No overstay");
  over.className = a.overstay_days ? "bad" : "";
  over.parentElement.className = a.overstay_days ? "bad" : "";

  const plannedBox = $("planned-box");
  plannedBox.hidden = !a.planned;
  if (a.planned) {
    const p = a.planned[0];
    const v = $("planned-verdict");
    v.textContent = fmtDate(p.entry, a) + " – " + fmtDate(p.exit, a) + ": " + t(p.ok ? "Allowed" : "Not allowed");
    v.className = "verdict " + (p.ok ? "ok" : "no");
    $("planned-leave-by").textContent = p.latest_exit
      ? t("Leave by") + ": " + fmtDate(p.latest_exit, a) + " (" + reasonName(p.limited_by, a) + ")" : "";
    const ul = $("planned-reasons");
    ul.replaceChildren();
    for (const code of p.reasons) {
      const li = document.createElement("li");
      li.dataset.reason = code;
      li.textContent = reasonName(code, a);
      ul.appendChild(li);
    }
    for (const n of a.explanation) {
      if (n.code === "planned_stay_too_long" || n.code === "entry_refused_window" || n.code.startsWith("passport_s")
          || n.code === "passport_type_no" || n.code === "not_in_force") {
        if (p.ok) continue;
        const li = document.createElement("li");
        li.className = "detail";
        li.textContent = n.text;
        ul.appendChild(li);
      }
    }
  }

  const eBox = $("earliest-box");
  eBox.hidden = !a.earliest_entry;
  if (a.earliest_entry) {
    const e = a.earliest_entry;
    $("earliest-label").textContent = req.trip_days && !$("trip-days").value
      ? t("Earliest return") : t("Earliest start of a {trip_days}-day trip", { trip_days: e.trip_days });
    $("earliest").textContent = e.date ? fmtDate(e.date, a)
      : t("No date found") + " (" + e.reasons.map((r) => reasonName(r, a)).join(", ") + ")";
    $("earliest").className = "verdict " + (e.date ? "ok" : "no");
  }

  const ol = $("explanation");
  ol.replaceChildren();
  for (const n of a.explanation) {
    const li = document.createElement("li");
    li.textContent = n.text;
    li.dataset.code = n.code;
    if (n.code.startsWith("violation") || n.code === "planned_no" || n.code === "coverage_no"
        || n.code === "entry_refused_window" || n.code === "passport_short") li.className = "bad";
    ol.appendChild(li);
  }

  drawTimeline(a, req);
  $("ics").href = icsUrl(req);
}

function icsUrl(req) {
  const q = new URLSearchParams({ regime: req.regime, nationality: req.nationality, destination: req.destination, on: req.on, lang });
  for (const s of req.stays) q.append("stay", s.entry + "/" + (s.exit || ""));
  if (req.passport) q.set("passport_expires", req.passport.expires);
  if (req.trip_days) q.set("trip_days", req.trip_days);
  return "/api/v1/calendar.ics?" + q.toString();
}

// ---------------------------------------------------------------- timeline (SVG)

const DAY = 86400000;
const ord = (iso) => Math.round(Date.parse(iso + "T00:00:00Z") / DAY);
const isoOfOrd = (n) => new Date(n * DAY).toISOString().slice(0, 10);

function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Presence is recomputed here only to colour the drawing; the counts shown come from the answer.
function drawTimeline(a, req) {
  const start = ord(a.window.start), end = ord(a.window.end), days = end - start + 1;
  const on = ord(a.on);
  const present = new Set();
  for (const s of req.stays) {
    const last = s.exit ? ord(s.exit) : on;
    for (let d = Math.max(ord(s.entry), start); d <= Math.min(last, end); d++) present.add(d);
  }
  const over = new Set();
  for (const v of a.violations) for (let d = ord(v.date); d < ord(v.date) + v.days; d++) over.add(d);
  const max = a.days_used + a.days_remaining;

  // Drawn at the width it is shown at, so its text stays readable on a phone.
  const W = Math.max(300, Math.min(900, $("timeline").clientWidth || 720)), cell = W / days;
  const barTop = 20, barH = 44, meterTop = 100;
  const root = svg("svg", { viewBox: `0 0 ${W} 145`, role: "img", "aria-labelledby": "tl-title tl-desc" });
  root.appendChild(svg("title", { id: "tl-title" }, t("Timeline of the 180-day window")));
  root.appendChild(svg("desc", { id: "tl-desc" },
    fmtDate(a.window.start, a) + " – " + fmtDate(a.window.end, a) + ": " + t("{used} of {max} days", { used: a.days_used, max })));
  root.appendChild(svg("rect", { x: 0, y: barTop, width: W, height: barH, fill: "#eef1f5" }));
  let leaving = 0;
  for (let d = start; d <= end; d++) {
    if (!present.has(d)) continue;
    // A day d leaves the window on d + window length: those within the next 30 days are shown apart.
    const soon = d < start + 30;
    if (soon) leaving++;
    const fill = over.has(d) ? "#b3141c" : soon ? "#f0a431" : "#2f7dd1";
    root.appendChild(svg("rect", { x: ((d - start) * cell).toFixed(2), y: barTop, width: Math.max(cell, 1).toFixed(2),
      height: barH, fill, "data-day": isoOfOrd(d), class: over.has(d) ? "day over" : soon ? "day leaving" : "day present" }));
  }
  // Month ticks: numeric day.month labels need no translation.
  for (let d = start; d <= end; d++) {
    const iso = isoOfOrd(d);
    if (iso.endsWith("-01")) {
      const x = ((d - start) * cell).toFixed(2);
      root.appendChild(svg("line", { x1: x, x2: x, y1: barTop - 4, y2: barTop + barH + 4, stroke: "#8a94a3", "stroke-width": 1 }));
      if (+x < W - 28) root.appendChild(svg("text", { x: +x + 2, y: barTop - 6, "font-size": 11, fill: "#5a6372" }, "1." + iso.slice(5, 7)));
    }
  }
  root.appendChild(svg("text", { x: 0, y: barTop + barH + 18, "font-size": 12, fill: "#1d2330" }, fmtDate(a.window.start, a)));
  root.appendChild(svg("text", { x: W, y: barTop + barH + 18, "font-size": 12, fill: "#1d2330", "text-anchor": "end" },
    fmtDate(a.window.end, a)));

  // Meter: days used against the limit, with the part about to leave the window.
  const unit = (W - 4) / Math.max(max, a.days_used, 1);
  root.appendChild(svg("rect", { x: 0, y: meterTop, width: (max * unit).toFixed(2), height: 16, fill: "#eef1f5" }));
  root.appendChild(svg("rect", { x: 0, y: meterTop, width: (a.days_used * unit).toFixed(2), height: 16,
    fill: a.days_used > max ? "#b3141c" : "#2f7dd1", class: "meter-used" }));
  root.appendChild(svg("rect", { x: 0, y: meterTop, width: (Math.min(leaving, a.days_used) * unit).toFixed(2), height: 16, fill: "#f0a431" }));
  const lx = (max * unit).toFixed(2);
  root.appendChild(svg("line", { x1: lx, x2: lx, y1: meterTop - 6, y2: meterTop + 22, stroke: "#1d2330", "stroke-width": 3, class: "limit" }));
  root.appendChild(svg("text", { x: 0, y: meterTop + 38, "font-size": 12, fill: "#1d2330" },
    t("Limit") + ": " + max + " · " + t("{used} of {max} days", { used: a.days_used, max })));
  $("timeline").replaceChildren(root);
}

// ---------------------------------------------------------------- wiring

function todayIso() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

document.addEventListener("DOMContentLoaded", () => {
  $("on").value = todayIso();
  restore();
  $("form").addEventListener("input", changed);
  $("form").addEventListener("change", changed);
  $("form").addEventListener("submit", (e) => { e.preventDefault(); schedule(0); });
  $("add-trip").addEventListener("click", () => { addTrip({}, true); changed(); });
  $("clear-trips").addEventListener("click", () => { $("trips").replaceChildren(); addTrip({}, true); changed(); });
  $("paste-add").addEventListener("click", pasteTrips);
  $("today").addEventListener("click", () => { $("on").value = todayIso(); changed(); });
  $("lang").addEventListener("change", () => setLanguage($("lang").value, true));
  $("print").addEventListener("click", () => window.print());
  setLanguage(initialLanguage(), false);
});
