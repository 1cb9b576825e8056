// The access-request form: the page in the visitor's language (?lang=, else the browser's), each
// problem shown beside its field with focus on the first one, the server's answer shown in place
// and focused. Strings live in static/i18n.json under "access.*".
"use strict";

const LANGUAGES = ["en", "es", "fr"];
const FIELDS = ["organisation", "organisation_type", "country", "contact_name", "contact_email", "contact_phone",
                "current_license", "existing_agency_id", "message"];
const EMAIL = /^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$/;
const PHONE = /^\+[1-9][0-9]{7,14}$/;
const AGENCY_ID = /^[0-9a-hjkmnp-tv-z]{26}$/;
let texts = {};

function chooseLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (LANGUAGES.includes(asked)) return asked;
  const browser = (navigator.language || "en").slice(0, 2).toLowerCase();
  return LANGUAGES.includes(browser) ? browser : "en";
}

function t(key, values) {
  let text = texts["access." + key] || "";
  for (const [name, value] of Object.entries(values || {})) text = text.replace("{" + name + "}", String(value));
  return text;
}

async function translate() {
  const language = chooseLanguage();
  try {
    const all = await (await fetch("static/i18n.json")).json();
    texts = Object.assign({}, all.en, all[language] || {});
  } catch (err) {
    return;  // the page stays in English, as written
  }
  document.documentElement.lang = language;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const text = t(node.dataset.i18n.slice("access.".length));
    if (text) node.textContent = text;
  }
  const nav = document.querySelector("[data-i18n-label]");
  if (nav) nav.setAttribute("aria-label", t("languages"));
  for (const link of document.querySelectorAll(".languages a")) {
    if (link.lang === language) link.setAttribute("aria-current", "page");
  }
}

function fieldError(name, message) {
  const input = document.getElementById(name);
  const box = document.getElementById(name + "-error");
  if (!input || !box) return false;
  box.textContent = message || "";
  box.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return Boolean(message);
}

function formError(message) {
  const box = document.getElementById("access-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function value(name) {
  return document.getElementById(name).value.trim();
}

// Problems the page can see before sending: {field: message}.
function check() {
  const problems = {};
  for (const name of ["organisation", "country", "contact_name", "contact_email"]) {
    if (!value(name)) problems[name] = t("error.required");
  }
  if (value("country") && !/^[A-Za-z]{2}$/.test(value("country"))) problems.country = t("error.country");
  if (value("contact_email") && !EMAIL.test(value("contact_email"))) problems.contact_email = t("error.email");
  if (value("contact_phone") && !PHONE.test(value("contact_phone"))) problems.contact_phone = t("error.phone");
  const agency = value("existing_agency_id").toLowerCase();
  if (agency && !AGENCY_ID.test(agency)) problems.existing_agency_id = t("error.agency_id");
  return problems;
}

function show(problems) {
  let first = null;
  for (const name of FIELDS) {
    if (fieldError(name, problems[name] || "") && !first) first = name;
  }
  if (first) {
    formError(t("error.summary"));
    document.getElementById(first).focus();
  }
  return Boolean(first);
}

function body() {
  const out = {};
  for (const name of FIELDS) {
    const text = value(name);
    if (!text) continue;
    if (name === "country") out[name] = text.toUpperCase();
    else if (name === "existing_agency_id") out[name] = text.toLowerCase();
    else out[name] = text;
  }
  return out;
}

function serverProblems(answer) {
  const problems = {};
  for (const detail of (answer && answer.details) || []) {
    const name = String(detail.field || "").split(".")[0];
    if (FIELDS.includes(name)) problems[name] = t("error." + (name === "contact_email" ? "email"
      : name === "contact_phone" ? "phone" : name === "country" ? "country"
      : name === "existing_agency_id" ? "agency_id" : "invalid"));
  }
  return problems;
}

async function send(event) {
  event.preventDefault();
  formError("");
  if (show(check())) return;
  const button = document.getElementById("access-send");
  const label = button.textContent;
  button.disabled = true;
  button.textContent = t("sending") || label;
  try {
    const response = await fetch("access-requests", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body()),
    });
    let answer = null;
    try { answer = await response.json(); } catch (err) { answer = null; }
    if (response.ok) {
      document.getElementById("access-form").hidden = true;
      document.getElementById("access-ref").textContent = answer.request_id;
      const done = document.getElementById("access-done");
      done.hidden = false;
      done.focus();
      return;
    }
    if (show(serverProblems(answer))) return;
    const box = document.getElementById("access-error");
    if (response.status === 429) formError(t("error.rate_limited", { seconds: response.headers.get("Retry-After") || 60 }));
    else if (response.status === 409) formError(t("error.duplicate"));
    else formError(t("error.generic"));
    box.focus();
  } catch (err) {
    formError(t("error.network"));
    document.getElementById("access-error").focus();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

document.getElementById("access-form").addEventListener("submit", send);
translate();
